//! The library routes of the fake [assumed API], and their link to the polled `events`.

use reqwest::Method;
use serde_json::{json, Value};

use crate::fake_oauth_apps::{FakeOAuthApp, Provider};

struct Api {
    app: FakeOAuthApp,
    token: String,
    http: reqwest::Client,
}

async fn create_test_docushare() -> Api {
    let app = FakeOAuthApp::start(Provider::DocuShareFlex, "ds-id", "ds-secret").await;
    let token = app.oauth.mint_access_token();
    Api {
        app,
        token,
        http: reqwest::Client::new(),
    }
}

impl Api {
    fn req(&self, method: Method, path: &str) -> reqwest::RequestBuilder {
        self.http
            .request(method, format!("{}/api/v1/{path}", self.app.url()))
            .bearer_auth(&self.token)
    }

    async fn send(&self, rb: reqwest::RequestBuilder) -> (u16, Value) {
        let r = rb.send().await.expect("send");
        let status = r.status().as_u16();
        (status, r.json().await.unwrap_or(Value::Null))
    }

    async fn mkdir(&self, path: &str) -> (u16, Value) {
        self.send(
            self.req(Method::POST, "folders")
                .json(&json!({ "path": path })),
        )
        .await
    }

    async fn put(&self, path: &str, content_type: &str, bytes: &[u8]) -> (u16, Value) {
        let rb = self
            .req(Method::PUT, "files")
            .query(&[("path", path)])
            .header("Content-Type", content_type)
            .body(bytes.to_vec());
        self.send(rb).await
    }

    async fn contents(&self, path: &str) -> (u16, Value) {
        self.send(
            self.req(Method::GET, "folders/contents")
                .query(&[("path", path)]),
        )
        .await
    }
}

#[tokio::test]
async fn a_document_put_into_a_collection_is_listed_downloaded_and_polled() {
    let api = create_test_docushare().await;
    let (st, made) = api.mkdir("/Reports").await;
    assert_eq!((st, &made["type"]), (201, &json!("collection")), "{made}");
    assert!(made["handle"]
        .as_str()
        .is_some_and(|h| h.starts_with("Collection-")));
    let (st, doc) = api
        .put("/Reports/q1.pdf", "application/pdf", b"%PDF-1")
        .await;
    assert_eq!((st, &doc["size"]), (201, &json!(6)), "{doc}");
    let handle = doc["handle"].as_str().expect("handle").to_string();
    assert!(handle.starts_with("Document-"));

    let (st, listed) = api.contents("/Reports").await;
    assert_eq!(st, 200);
    assert_eq!(
        listed["items"],
        json!([{"handle": handle, "name": "q1.pdf", "type": "document", "path": "/Reports/q1.pdf",
            "size": 6, "modified": doc["modified"]}])
    );
    let (_, root) = api.contents("/").await;
    assert_eq!(root["items"][0]["path"], "/Reports");

    let r = api
        .req(Method::GET, "files")
        .query(&[("path", "/Reports/q1.pdf")])
        .send()
        .await
        .expect("send");
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["content-type"], "application/pdf");
    assert_eq!(r.content_length(), Some(6));
    assert_eq!(r.bytes().await.expect("bytes").as_ref(), b"%PDF-1");

    let (_, polled) = api
        .send(
            api.req(Method::GET, "events")
                .query(&[("modifiedSince", "2000-01-01T00:00:00Z")]),
        )
        .await;
    assert_eq!(polled["items"][0]["handle"], handle.as_str());
    assert_eq!(polled["items"][0]["title"], "q1.pdf");
    assert_eq!(api.app.docs.paths(), vec!["/Reports", "/Reports/q1.pdf"]);
    assert_eq!(
        api.app.docs.file_bytes("/Reports/q1.pdf"),
        Some(b"%PDF-1".to_vec())
    );
}

#[tokio::test]
async fn missing_taken_and_mistyped_paths_answer_the_documented_errors() {
    let api = create_test_docushare().await;
    api.app.docs.put_document("/a/x.txt", "text/plain", b"x");
    let code = |v: &Value| v["error"].as_str().unwrap_or_default().to_string();

    let (st, err) = api.contents("/nope").await;
    assert_eq!((st, code(&err)), (404, "not_found".into()));
    assert_eq!(err["message"], "No object at /nope");
    assert_eq!(api.contents("/a/x.txt").await.0, 400);
    let (st, err) = api.mkdir("/a").await;
    assert_eq!((st, code(&err)), (409, "conflict".into()));
    assert_eq!(err["message"], "An object already exists at /a");
    assert_eq!(api.mkdir("/missing/b").await.0, 404);
    assert_eq!(api.put("/a/x.txt", "text/plain", b"y").await.0, 409);
    assert_eq!(api.put("/missing/y.txt", "text/plain", b"y").await.0, 404);
    assert_eq!(api.contents("a").await.0, 400, "relative path");

    let get = |p: &'static str| api.send(api.req(Method::GET, "files").query(&[("path", p)]));
    let (st, err) = get("/a").await;
    assert_eq!((st, code(&err)), (400, "not_a_document".into()));
    assert_eq!(get("/a/none.txt").await.0, 404);
    let del = |what: &'static str, p: &'static str| {
        api.send(api.req(Method::DELETE, what).query(&[("path", p)]))
    };
    assert_eq!(del("files", "/a").await.0, 400);
    assert_eq!(del("folders", "/a/x.txt").await.0, 400);
    assert_eq!(del("folders", "/zzz").await.0, 404);
}

#[tokio::test]
async fn collections_copy_with_new_handles_and_delete_with_their_documents() {
    let api = create_test_docushare().await;
    let original = api
        .app
        .docs
        .put_document("/src/sub/b.txt", "text/plain", b"b");
    let copy = |from: &str, to: &str| {
        api.send(
            api.req(Method::POST, "folders/copy")
                .json(&json!({"from": from, "to": to})),
        )
    };
    let (st, made) = copy("/src", "/dst").await;
    assert_eq!((st, &made["path"]), (201, &json!("/dst")), "{made}");
    assert_eq!(copy("/src", "/dst").await.0, 409);
    assert_eq!(copy("/none", "/x").await.0, 404);
    assert_eq!(copy("/src", "/src/sub/in").await.0, 400, "not into itself");
    let (_, listed) = api.contents("/dst/sub").await;
    let copied = listed["items"][0]["handle"].as_str().expect("handle");
    assert_ne!(copied, original);
    assert_eq!(
        api.app.docs.file_bytes("/dst/sub/b.txt"),
        Some(b"b".to_vec())
    );

    let (st, _) = api
        .send(
            api.req(Method::DELETE, "folders")
                .query(&[("path", "/src")]),
        )
        .await;
    assert_eq!(st, 204);
    assert_eq!(
        api.app.docs.paths(),
        vec!["/dst", "/dst/sub", "/dst/sub/b.txt"]
    );
    let (_, polled) = api
        .send(
            api.req(Method::GET, "events")
                .query(&[("modifiedSince", "2000-01-01T00:00:00Z")]),
        )
        .await;
    let handles: Vec<&Value> = polled["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|i| &i["handle"])
        .collect();
    assert_eq!(
        handles,
        vec![&json!(copied)],
        "the deleted document left events"
    );
}

#[tokio::test]
async fn library_calls_need_a_token_and_honour_injected_faults() {
    let api = create_test_docushare().await;
    let r = api
        .http
        .get(format!("{}/api/v1/folders/contents?path=/", api.app.url()))
        .bearer_auth("expired")
        .send()
        .await
        .expect("send");
    assert_eq!(r.status(), 401);
    api.app.docs.fail(&[429]);
    let r = api
        .req(Method::PUT, "files")
        .query(&[("path", "/x")])
        .body("x")
        .send()
        .await
        .expect("send");
    assert_eq!(r.status(), 429);
    assert_eq!(r.headers()["retry-after"], "1");
    assert_eq!(api.put("/x", "text/plain", b"x").await.0, 201);
    assert_eq!(api.app.docs.calls(), 0, "only events calls are counted");
}
