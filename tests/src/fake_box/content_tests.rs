//! The fake's folders, files, upload and download, checked against Box's documented shapes.

use reqwest::multipart::{Form, Part};
use reqwest::Method;
use serde_json::{json, Value};

use super::FakeBox;

struct Api {
    fake: FakeBox,
    token: String,
    http: reqwest::Client,
}

async fn create_test_box() -> Api {
    let fake = FakeBox::start("box-client", "box-secret").await;
    let token = fake.oauth.mint_access_token();
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client");
    Api { fake, token, http }
}

impl Api {
    async fn call(&self, method: Method, path: &str, body: Option<Value>) -> (u16, Value) {
        let mut rb = self
            .http
            .request(method, format!("{}{path}", self.fake.url()))
            .bearer_auth(&self.token);
        if let Some(b) = body {
            rb = rb.json(&b);
        }
        let r = rb.send().await.expect("send");
        let status = r.status().as_u16();
        (status, r.json().await.unwrap_or(Value::Null))
    }

    async fn folder(&self, parent: &str, name: &str) -> String {
        let body = json!({"name": name, "parent": {"id": parent}});
        let (st, v) = self.call(Method::POST, "/2.0/folders", Some(body)).await;
        assert_eq!(st, 201, "{v}");
        v["id"].as_str().expect("id").to_string()
    }

    async fn upload(&self, form: Form) -> (u16, Value) {
        let r = self
            .http
            .post(format!("{}/api/2.0/files/content", self.fake.url()))
            .bearer_auth(&self.token)
            .multipart(form)
            .send()
            .await
            .expect("send");
        let status = r.status().as_u16();
        (status, r.json().await.unwrap_or(Value::Null))
    }

    async fn put(&self, parent: &str, name: &str, bytes: &[u8]) -> (u16, Value) {
        let attributes = json!({"name": name, "parent": {"id": parent}}).to_string();
        let file = Part::bytes(bytes.to_vec()).file_name(name.to_string());
        self.upload(
            Form::new()
                .text("attributes", attributes)
                .part("file", file),
        )
        .await
    }

    async fn names(&self, folder: &str, query: &str) -> (u64, Vec<String>) {
        let path = format!("/2.0/folders/{folder}/items{query}");
        let (st, v) = self.call(Method::GET, &path, None).await;
        assert_eq!(st, 200, "{v}");
        let names = v["entries"]
            .as_array()
            .expect("entries")
            .iter()
            .map(|e| e["name"].as_str().unwrap_or_default().to_string())
            .collect();
        (v["total_count"].as_u64().unwrap_or(0), names)
    }
}

#[tokio::test]
async fn an_upload_with_attributes_first_is_listed_and_downloads_through_the_redirect() {
    let api = create_test_box().await;
    let reports = api.folder("0", "Reports").await;
    let bytes = b"\x00\x01 Box bytes \xff";
    let (st, v) = api.put(&reports, "a.txt", bytes).await;
    assert_eq!((st, &v["total_count"]), (201, &json!(1)), "{v}");
    let file = &v["entries"][0];
    assert_eq!(file["type"], "file");
    assert_eq!(file["size"], bytes.len());
    assert_eq!(file["parent"]["id"], reports.as_str());
    let id = file["id"].as_str().expect("id");

    let (st, got) = api
        .call(Method::GET, &format!("/2.0/files/{id}"), None)
        .await;
    assert_eq!((st, &got["name"]), (200, &json!("a.txt")));
    assert!(got["modified_at"].is_string(), "{got}");

    let r = api
        .http
        .get(format!("{}/2.0/files/{id}/content", api.fake.url()))
        .bearer_auth(&api.token)
        .send()
        .await
        .expect("send");
    assert_eq!(r.status(), 302);
    let location = r.headers()["location"]
        .to_str()
        .expect("location")
        .to_string();
    assert!(location.starts_with(&format!("{}/__dl/", api.fake.url())));
    // The download host's URL is signed: no bearer token.
    let r = api.http.get(&location).send().await.expect("send");
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["content-type"], "application/octet-stream");
    assert_eq!(r.content_length(), Some(bytes.len() as u64));
    assert_eq!(r.bytes().await.expect("bytes").as_ref(), bytes);

    assert_eq!(api.fake.paths(), vec!["/Reports", "/Reports/a.txt"]);
    assert_eq!(api.fake.file_bytes("/reports/A.TXT"), Some(bytes.to_vec()));
}

#[tokio::test]
async fn an_upload_needs_its_attributes_part_before_the_file_part() {
    let api = create_test_box().await;
    let attributes = || json!({"name": "x.txt", "parent": {"id": "0"}}).to_string();
    let file = || Part::bytes(b"x".to_vec()).file_name("x.txt");

    let (st, err) = api
        .upload(
            Form::new()
                .part("file", file())
                .text("attributes", attributes()),
        )
        .await;
    assert_eq!(
        (st, &err["code"]),
        (400, &json!("metadata_after_file_contents"))
    );
    let (st, err) = api.upload(Form::new().part("file", file())).await;
    assert_eq!((st, &err["code"]), (400, &json!("bad_request")));
    assert!(api.fake.paths().is_empty(), "nothing stored");

    let (st, _) = api
        .upload(
            Form::new()
                .text("attributes", attributes())
                .part("file", file()),
        )
        .await;
    assert_eq!(st, 201);
    let (st, err) = api.put("0", "X.TXT", b"again").await;
    assert_eq!(
        (st, &err["code"]),
        (409, &json!("item_name_in_use")),
        "{err}"
    );
    assert_eq!(err["context_info"]["conflicts"]["name"], "x.txt");
    assert!(err["request_id"].is_string());
    let (st, err) = api.put("999999", "y.txt", b"y").await;
    assert_eq!((st, &err["code"]), (404, &json!("not_found")));
}

#[tokio::test]
async fn folder_names_clash_with_files_and_folders_without_regard_to_case() {
    let api = create_test_box().await;
    api.fake.put_file("/", "Notes", b"n");
    let body = json!({"name": "notes", "parent": {"id": "0"}});
    let (st, err) = api.call(Method::POST, "/2.0/folders", Some(body)).await;
    assert_eq!(
        (st, &err["code"]),
        (409, &json!("item_name_in_use")),
        "{err}"
    );
    assert_eq!(err["context_info"]["conflicts"][0]["type"], "file");
    let body = json!({"name": "x", "parent": {"id": "424242"}});
    assert_eq!(
        api.call(Method::POST, "/2.0/folders", Some(body)).await.0,
        404
    );
    let (st, err) = api
        .call(Method::GET, "/2.0/folders/424242/items", None)
        .await;
    assert_eq!(
        (st, &err["code"], &err["status"]),
        (404, &json!("not_found"), &json!(404))
    );
}

#[tokio::test]
async fn listings_page_by_offset_folders_before_files() {
    let api = create_test_box().await;
    let dir = api.fake.put_folder("/Big");
    for n in ["c.txt", "a.txt", "b.txt"] {
        api.fake.put_file(&dir, n, n.as_bytes());
    }
    api.fake.put_folder("/Big/zeta");
    let (total, page) = api.names(&dir, "?limit=2&offset=0").await;
    assert_eq!((total, page), (4, vec!["zeta".to_string(), "a.txt".into()]));
    let (_, page) = api.names(&dir, "?limit=2&offset=2&fields=size").await;
    assert_eq!(page, vec!["b.txt", "c.txt"]);
    let (st, v) = api
        .call(
            Method::GET,
            &format!("/2.0/folders/{dir}/items?fields=size,modified_at"),
            None,
        )
        .await;
    assert_eq!(st, 200);
    assert_eq!(v["entries"][1]["size"], 5);
    assert!(v["entries"][1]["modified_at"].is_string());
}

#[tokio::test]
async fn folders_delete_recursively_only_when_asked_and_copy_under_new_ids() {
    let api = create_test_box().await;
    let src = api.fake.put_folder("/Src/Sub");
    let file = api.fake.put_file("/Src/Sub", "b.txt", b"b");
    let top = api.fake.put_folder("/Src");
    let dst = api.fake.put_folder("/Dst");

    let copy_path = format!("/2.0/folders/{top}/copy");
    let copy = |parent: &str, name: Option<&str>| {
        let mut body = json!({"parent": {"id": parent}});
        if let Some(n) = name {
            body["name"] = json!(n);
        }
        api.call(Method::POST, &copy_path, Some(body))
    };
    let (st, made) = copy(&dst, None).await;
    assert_eq!((st, &made["name"]), (201, &json!("Src")), "{made}");
    let (st, err) = copy(&dst, None).await;
    assert_eq!((st, &err["code"]), (409, &json!("item_name_in_use")));
    assert_eq!(copy(&src, Some("inside")).await.0, 400, "not into itself");
    assert_eq!(
        api.fake.paths(),
        vec![
            "/Dst",
            "/Dst/Src",
            "/Dst/Src/Sub",
            "/Dst/Src/Sub/b.txt",
            "/Src",
            "/Src/Sub",
            "/Src/Sub/b.txt"
        ]
    );
    let (_, listed) = api.names(made["id"].as_str().expect("id"), "").await;
    assert_eq!(listed, vec!["Sub"]);
    let copied = api.fake.put_file("/Dst/Src/Sub", "b.txt", b"b2");
    assert_ne!(copied, file);
    assert_eq!(api.fake.file_bytes("/Src/Sub/b.txt"), Some(b"b".to_vec()));

    let (st, err) = api
        .call(Method::DELETE, &format!("/2.0/folders/{top}"), None)
        .await;
    assert_eq!((st, &err["code"]), (400, &json!("folder_not_empty")));
    let (st, _) = api
        .call(
            Method::DELETE,
            &format!("/2.0/folders/{top}?recursive=true"),
            None,
        )
        .await;
    assert_eq!(st, 204);
    assert_eq!(
        api.call(Method::GET, &format!("/2.0/files/{file}"), None)
            .await
            .0,
        404,
        "the folder's contents went with it"
    );
    assert_eq!(
        api.call(Method::DELETE, &format!("/2.0/files/{copied}"), None)
            .await
            .0,
        204
    );
    assert_eq!(api.fake.paths(), vec!["/Dst", "/Dst/Src", "/Dst/Src/Sub"]);
}

#[tokio::test]
async fn content_calls_need_a_valid_token_and_honour_injected_faults() {
    let api = create_test_box().await;
    let r = api
        .http
        .get(format!("{}/2.0/folders/0/items", api.fake.url()))
        .bearer_auth("expired")
        .send()
        .await
        .expect("send");
    assert_eq!(r.status(), 401);
    assert!(r.headers().contains_key("www-authenticate"));
    api.fake.fail_api(&[429]);
    let r = api
        .http
        .get(format!("{}/2.0/folders/0", api.fake.url()))
        .bearer_auth(&api.token)
        .send()
        .await
        .expect("send");
    assert_eq!(r.status(), 429);
    assert_eq!(r.headers()["retry-after"], "1");
    let (st, root) = api.call(Method::GET, "/2.0/folders/0", None).await;
    assert_eq!((st, &root["id"]), (200, &json!("0")));
}
