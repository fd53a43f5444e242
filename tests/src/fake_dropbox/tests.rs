//! The files API of the fake, checked against Dropbox's documented shapes and errors.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::Query;
use axum::routing::get;
use axum::Router;
use serde_json::{json, Value};

use super::FakeDropbox;

struct Api {
    fake: FakeDropbox,
    token: String,
    http: reqwest::Client,
}

async fn create_test_dropbox() -> Api {
    let fake = FakeDropbox::start("dbx-id", "dbx-secret", Duration::from_millis(10)).await;
    fake.set_page_size(100);
    let token = fake.oauth.mint_access_token();
    Api {
        fake,
        token,
        http: reqwest::Client::new(),
    }
}

impl Api {
    async fn rpc(&self, route: &str, body: Value) -> (u16, Value) {
        let r = self
            .http
            .post(format!("{}/2/{route}", self.fake.url()))
            .bearer_auth(&self.token)
            .json(&body)
            .send()
            .await
            .expect("send");
        let status = r.status().as_u16();
        (status, r.json().await.unwrap_or(Value::Null))
    }

    async fn upload(&self, arg: Value, bytes: &[u8]) -> (u16, Value) {
        let r = self
            .http
            .post(format!("{}/2/files/upload", self.fake.url()))
            .bearer_auth(&self.token)
            .header("Dropbox-API-Arg", arg.to_string())
            .header("Content-Type", "application/octet-stream")
            .body(bytes.to_vec())
            .send()
            .await
            .expect("send");
        let status = r.status().as_u16();
        (status, r.json().await.unwrap_or(Value::Null))
    }

    async fn add(&self, path: &str, bytes: &[u8]) -> (u16, Value) {
        self.upload(
            json!({"path": path, "mode": "add", "autorename": false, "mute": false}),
            bytes,
        )
        .await
    }

    async fn download(&self, path: &str) -> reqwest::Response {
        self.http
            .post(format!("{}/2/files/download", self.fake.url()))
            .bearer_auth(&self.token)
            .header("Dropbox-API-Arg", json!({ "path": path }).to_string())
            .send()
            .await
            .expect("send")
    }

    async fn names(&self, path: &str, recursive: bool) -> Vec<String> {
        let (st, v) = self
            .rpc(
                "files/list_folder",
                json!({"path": path, "recursive": recursive}),
            )
            .await;
        assert_eq!(st, 200, "{v}");
        v["entries"]
            .as_array()
            .expect("entries")
            .iter()
            .map(|e| e["path_display"].as_str().unwrap_or_default().to_string())
            .collect()
    }
}

/// An app's webhook URI: answers Dropbox's challenge and records every notification's body with
/// whether its `X-Dropbox-Signature` is the HMAC-SHA256 of it under the app secret.
async fn start_webhook_hook() -> (String, Arc<Mutex<Vec<(Value, bool)>>>) {
    let bodies = Arc::new(Mutex::new(Vec::new()));
    let seen = bodies.clone();
    let hook = Router::new().route(
        "/hook",
        get(|Query(q): Query<HashMap<String, String>>| async move {
            (
                [("X-Content-Type-Options", "nosniff")],
                q.get("challenge").cloned().unwrap_or_default(),
            )
        })
        .post(
            move |headers: axum::http::HeaderMap, body: axum::body::Bytes| async move {
                let expected =
                    hex::encode(herald_core::signing::hmac_sha256(b"dbx-secret", &[&body]));
                let signed = headers
                    .get("x-dropbox-signature")
                    .is_some_and(|v| v.as_bytes() == expected.as_bytes());
                let v = serde_json::from_slice(&body).unwrap_or(Value::Null);
                seen.lock().expect("lock").push((v, signed));
            },
        ),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let url = format!("http://{}/hook", listener.local_addr().expect("addr"));
    tokio::spawn(async move { axum::serve(listener, hook).await });
    (url, bodies)
}

fn summary(v: &Value) -> &str {
    v["error_summary"].as_str().unwrap_or_default()
}

#[tokio::test]
async fn an_uploaded_file_is_listed_described_and_downloaded_byte_for_byte() {
    let api = create_test_dropbox().await;
    let bytes = b"\x00binary\xffbytes";
    let (st, meta) = api.add("/Reports/Q1.bin", bytes).await;
    assert_eq!(st, 200, "{meta}");
    assert!(
        meta.get(".tag").is_none(),
        "upload answers a bare FileMetadata"
    );
    assert_eq!(meta["size"], bytes.len());
    assert_eq!(meta["path_lower"], "/reports/q1.bin");
    // The missing parent was made.
    assert_eq!(api.names("", false).await, vec!["/Reports"]);
    assert_eq!(api.names("/reports", false).await, vec!["/Reports/Q1.bin"]);

    let (st, got) = api
        .rpc("files/get_metadata", json!({"path": "/reports/q1.bin"}))
        .await;
    assert_eq!(
        (st, &got[".tag"], &got["id"]),
        (200, &json!("file"), &meta["id"])
    );

    let r = api.download("/Reports/Q1.bin").await;
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["content-type"], "application/octet-stream");
    let result: Value =
        serde_json::from_str(r.headers()["dropbox-api-result"].to_str().expect("ascii"))
            .expect("json");
    assert_eq!(result["rev"], meta["rev"]);
    assert_eq!(r.bytes().await.expect("body").as_ref(), bytes);
    assert_eq!(api.fake.file_bytes("/reports/q1.bin"), Some(bytes.to_vec()));
}

#[tokio::test]
async fn uploads_conflict_as_dropbox_decides() {
    let api = create_test_dropbox().await;
    assert_eq!(api.add("/a.txt", b"one").await.0, 200);
    let (st, err) = api.add("/a.txt", b"two").await;
    assert_eq!((st, summary(&err)), (409, "path/conflict/file/.."), "{err}");
    assert_eq!(err["error"]["reason"]["conflict"][".tag"], "file");
    // Identical content is no conflict for Dropbox, unless strict_conflict asks for one.
    let (st, same) = api.add("/a.txt", b"one").await;
    assert_eq!(st, 200, "{same}");
    let strict = json!({"path": "/a.txt", "mode": "add", "strict_conflict": true});
    assert_eq!(api.upload(strict, b"one").await.0, 409);
    // A folder in the way, a file above the path, and the escape hatches.
    assert_eq!(
        api.rpc("files/create_folder_v2", json!({"path": "/d"}))
            .await
            .0,
        200
    );
    assert_eq!(
        summary(&api.add("/d", b"x").await.1),
        "path/conflict/folder/.."
    );
    assert_eq!(
        summary(&api.add("/a.txt/inner", b"x").await.1),
        "path/conflict/file/.."
    );
    let (st, over) = api
        .upload(json!({"path": "/a.txt", "mode": "overwrite"}), b"two")
        .await;
    assert_eq!(st, 200, "{over}");
    assert_eq!(api.fake.file_bytes("/a.txt"), Some(b"two".to_vec()));
    let (st, renamed) = api
        .upload(json!({"path": "/a.txt", "autorename": true}), b"three")
        .await;
    assert_eq!((st, &renamed["path_display"]), (200, &json!("/a (1).txt")));
}

#[tokio::test]
async fn folder_conflicts_and_lookups_answer_dropbox_route_errors() {
    let api = create_test_dropbox().await;
    let create = |p: &'static str| api.rpc("files/create_folder_v2", json!({ "path": p }));
    let (st, made) = create("/Docs").await;
    assert_eq!(st, 200, "{made}");
    assert_eq!(made["metadata"]["path_display"], "/Docs");
    assert_eq!(summary(&create("/docs").await.1), "path/conflict/folder/..");
    api.add("/Docs/x.txt", b"x").await;
    assert_eq!(
        summary(&create("/Docs/x.txt").await.1),
        "path/conflict/file/.."
    );

    let list = |p: &'static str| api.rpc("files/list_folder", json!({ "path": p }));
    assert_eq!(summary(&list("/nope").await.1), "path/not_found/..");
    assert_eq!(summary(&list("/Docs/x.txt").await.1), "path/not_folder/..");
    let get = |p: &'static str| api.rpc("files/get_metadata", json!({ "path": p }));
    let (st, err) = get("/nope").await;
    assert_eq!((st, summary(&err)), (409, "path/not_found/.."));
    assert_eq!(
        err["error"],
        json!({".tag": "path", "path": {".tag": "not_found"}})
    );

    let r = api.download("/Docs").await;
    assert_eq!(r.status(), 409);
    assert_eq!(summary(&r.json().await.expect("json")), "path/not_file/..");
    let r = api.download("/nope").await;
    assert_eq!(summary(&r.json().await.expect("json")), "path/not_found/..");

    let (st, err) = api.rpc("files/delete_v2", json!({"path": "/nope"})).await;
    assert_eq!((st, summary(&err)), (409, "path_lookup/not_found/.."));
}

#[tokio::test]
async fn a_folder_copies_with_its_contents_under_new_ids_unless_the_target_exists() {
    let api = create_test_dropbox().await;
    api.add("/Src/a.txt", b"a").await;
    api.add("/Src/Sub/b.txt", b"b").await;
    api.rpc("files/create_folder_v2", json!({"path": "/Taken"}))
        .await;
    let copy = |from: &'static str, to: &'static str| {
        api.rpc(
            "files/copy_v2",
            json!({"from_path": from, "to_path": to, "autorename": false}),
        )
    };
    let (st, err) = copy("/Src", "/Taken").await;
    assert_eq!((st, summary(&err)), (409, "to/conflict/folder/.."), "{err}");
    assert_eq!(
        err["error"],
        json!({".tag": "to", "to": {".tag": "conflict", "conflict": {".tag": "folder"}}})
    );
    api.add("/f.txt", b"f").await;
    assert_eq!(
        summary(&copy("/Src", "/f.txt").await.1),
        "to/conflict/file/.."
    );
    assert_eq!(
        summary(&copy("/Missing", "/New").await.1),
        "from_lookup/not_found/.."
    );

    let (st, made) = copy("/Src", "/Dst").await;
    assert_eq!(st, 200, "{made}");
    assert_eq!(made["metadata"][".tag"], "folder");
    assert_eq!(
        api.names("/dst", true).await,
        vec!["/Dst", "/Dst/a.txt", "/Dst/Sub", "/Dst/Sub/b.txt"]
    );
    assert_eq!(
        api.names("/Dst", false).await,
        vec!["/Dst/a.txt", "/Dst/Sub"]
    );
    let api = &api;
    let id = |p: &'static str| async move {
        api.rpc("files/get_metadata", json!({ "path": p })).await.1["id"].clone()
    };
    assert_ne!(id("/Src/Sub/b.txt").await, id("/Dst/Sub/b.txt").await);
    assert_eq!(api.fake.file_bytes("/Dst/Sub/b.txt"), Some(b"b".to_vec()));
}

#[tokio::test]
async fn api_changes_enter_the_change_log_and_notify_the_webhook() {
    let api = create_test_dropbox().await;
    let (hook_url, hits) = start_webhook_hook().await;
    api.fake.set_webhook_url(&hook_url).await;

    api.add("/Keep/k.txt", b"k").await;
    let (_, listed) = api
        .rpc(
            "files/list_folder",
            json!({"path": "", "recursive": true, "include_deleted": true}),
        )
        .await;
    let cursor = listed["cursor"].clone();
    api.add("/Gone/a.txt", b"a").await;
    api.rpc(
        "files/copy_v2",
        json!({"from_path": "/Keep/k.txt", "to_path": "/Keep/k2.txt"}),
    )
    .await;
    api.rpc("files/delete_v2", json!({"path": "/Gone"})).await;
    let (st, page) = api
        .rpc("files/list_folder/continue", json!({ "cursor": cursor }))
        .await;
    assert_eq!(st, 200, "{page}");
    let seen: Vec<(String, String)> = page["entries"]
        .as_array()
        .expect("entries")
        .iter()
        .map(|e| {
            let s = |k: &str| e[k].as_str().unwrap_or_default().to_string();
            (s(".tag"), s("path_lower"))
        })
        .collect();
    let e = |t: &str, p: &str| (t.to_string(), p.to_string());
    assert_eq!(
        seen,
        vec![
            e("folder", "/gone"),
            e("file", "/gone/a.txt"),
            e("file", "/keep/k2.txt"),
            e("deleted", "/gone"),
        ]
    );
    // A cursor on one folder sees only that folder's changes.
    let (_, scoped) = api
        .rpc(
            "files/list_folder/get_latest_cursor",
            json!({"path": "/Keep"}),
        )
        .await;
    api.add("/Elsewhere.txt", b"e").await;
    api.add("/Keep/k3.txt", b"k").await;
    let (_, page) = api
        .rpc(
            "files/list_folder/continue",
            json!({ "cursor": scoped["cursor"] }),
        )
        .await;
    assert_eq!(page["entries"][0]["path_lower"], "/keep/k3.txt");
    assert_eq!(page["entries"].as_array().map(Vec::len), Some(1));

    crate::wait::until(
        "a signed webhook per change",
        Duration::from_secs(5),
        || {
            let n = hits
                .lock()
                .expect("lock")
                .iter()
                .filter(|(_, signed)| *signed)
                .count();
            async move {
                if n >= 6 {
                    Ok(())
                } else {
                    Err(format!("{n} signed deliveries"))
                }
            }
        },
    )
    .await;
}

#[tokio::test]
async fn bad_requests_bad_tokens_and_injected_faults_answer_as_dropbox_does() {
    let api = create_test_dropbox().await;
    let r = api
        .http
        .post(format!("{}/2/files/get_metadata", api.fake.url()))
        .bearer_auth(&api.token)
        .header("Content-Type", "application/json")
        .body("{not json")
        .send()
        .await
        .expect("send");
    assert_eq!(r.status(), 400);
    let text = r.text().await.expect("text");
    assert!(
        text.starts_with("Error in call to API function \"files/get_metadata\": "),
        "{text}"
    );
    let (st, _) = api.rpc("files/list_folder", json!({"path": "/"})).await;
    assert_eq!(st, 400, "Dropbox names the root \"\"");
    let r = api
        .http
        .post(format!("{}/2/files/upload", api.fake.url()))
        .bearer_auth(&api.token)
        .header("Content-Type", "application/octet-stream")
        .body("x")
        .send()
        .await
        .expect("send");
    assert_eq!(r.status(), 400, "no Dropbox-API-Arg");

    let r = api
        .http
        .post(format!("{}/2/files/download", api.fake.url()))
        .bearer_auth("wrong")
        .header("Dropbox-API-Arg", r#"{"path":"/a"}"#)
        .send()
        .await
        .expect("send");
    assert_eq!(r.status(), 401);

    api.fake.fail_api(&[503]);
    assert_eq!(api.add("/a.txt", b"a").await.0, 503);
    assert_eq!(api.add("/a.txt", b"a").await.0, 200);
}

#[tokio::test]
async fn accounts_of_one_app_keep_their_own_tokens_namespaces_faults_and_notifications() {
    let api = create_test_dropbox().await;
    let second = api.fake.add_account();
    assert_ne!(second.account_id(), api.fake.account_id());
    let (hook_url, bodies) = start_webhook_hook().await;
    api.fake.set_webhook_url(&hook_url).await;

    // The second account's owner signs in: the code and its token are the second account's.
    second.sign_in();
    let no_redirects = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client");
    let redirect = "https://app.example/auth";
    let r = no_redirects
        .get(format!("{}/oauth2/authorize", api.fake.url()))
        .query(&[
            ("client_id", "dbx-id"),
            ("response_type", "code"),
            ("redirect_uri", redirect),
        ])
        .send()
        .await
        .expect("authorize");
    let location = url::Url::parse(
        r.headers()
            .get("location")
            .and_then(|v| v.to_str().ok())
            .expect("location"),
    )
    .expect("url");
    let code = location
        .query_pairs()
        .find(|(k, _)| k == "code")
        .map(|(_, v)| v.to_string())
        .expect("code");
    let granted: Value = api
        .http
        .post(format!("{}/oauth2/token", api.fake.url()))
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", redirect),
            ("client_id", "dbx-id"),
            ("client_secret", "dbx-secret"),
        ])
        .send()
        .await
        .expect("token")
        .json()
        .await
        .expect("json");
    assert_eq!(granted["account_id"], json!(second.account_id()));
    let theirs = Api {
        fake: second.clone(),
        token: granted["access_token"]
            .as_str()
            .expect("access_token")
            .into(),
        http: reqwest::Client::new(),
    };

    assert_eq!(theirs.add("/Theirs.txt", b"t").await.0, 200);
    assert_eq!(api.add("/Mine.txt", b"m").await.0, 200);
    assert_eq!(second.paths(), vec!["/Theirs.txt"]);
    assert_eq!(api.fake.paths(), vec!["/Mine.txt"]);
    assert_eq!(theirs.names("", false).await, vec!["/Theirs.txt"]);
    assert_eq!(api.names("", false).await, vec!["/Mine.txt"]);

    // A cursor belongs to the account that listed: another account's token cannot use it.
    let (_, mine) = api
        .rpc("files/list_folder/get_latest_cursor", json!({"path": ""}))
        .await;
    let (st, refused) = theirs
        .rpc(
            "files/list_folder/continue",
            json!({ "cursor": mine["cursor"] }),
        )
        .await;
    assert_eq!((st, summary(&refused)), (409, "reset/.."), "{refused}");

    // A fault injected for one account leaves the other's calls alone.
    second.fail_api(&[503]);
    assert_eq!(api.add("/Mine2.txt", b"m").await.0, 200);
    assert_eq!(theirs.add("/Theirs2.txt", b"t").await.0, 503);

    // Changes in both accounts, announced together.
    FakeDropbox::upload_external_together(&[(&api.fake, "/Both.txt"), (&second, "/Both.txt")]);

    crate::wait::until(
        "a signed notification per account",
        Duration::from_secs(5),
        || {
            let accounts: Vec<Value> = bodies
                .lock()
                .expect("lock")
                .iter()
                .filter(|(_, signed)| *signed)
                .map(|(b, _)| b["list_folder"]["accounts"].clone())
                .collect();
            let want = [
                json!([api.fake.account_id()]),
                json!([second.account_id()]),
                json!([api.fake.account_id(), second.account_id()]),
            ];
            async move {
                if want.iter().all(|w| accounts.contains(w)) {
                    Ok(())
                } else {
                    Err(format!("notified {accounts:?}"))
                }
            }
        },
    )
    .await;
}
