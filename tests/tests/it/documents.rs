//! The documents hub on each documents element (Dropbox, Box, DocuShare Flex): the same calls,
//! the same answers, each element's provider fake answering as the real one does.

use herald_e2e::fake_box::FakeBox;
use herald_e2e::fake_dropbox::FakeDropbox;
use herald_e2e::fake_oauth_apps::{FakeOAuthApp, Provider};
use herald_e2e::stack::Stack;
use reqwest::Method;
use serde_json::{json, Value};

const APP_ID: &str = "docs-client-id";
const APP_SECRET: &str = "docs-client-secret";
const REDIRECT: &str = "https://www.mycoolapp.com/auth";

struct DocsWorld {
    stack: Stack,
    _dropbox: FakeDropbox,
    _boxcom: FakeBox,
    _docushare: FakeOAuthApp,
}

async fn create_test_docs_world() -> DocsWorld {
    let dropbox =
        FakeDropbox::start(APP_ID, APP_SECRET, std::time::Duration::from_millis(100)).await;
    let boxcom = FakeBox::start(APP_ID, APP_SECRET).await;
    let docushare = FakeOAuthApp::start(Provider::DocuShareFlex, APP_ID, APP_SECRET).await;
    let stack = Stack::start_with_providers(
        &[
            ("DROPBOX", dropbox.url()),
            ("BOX", boxcom.url()),
            ("DOCUSHAREFLEX", docushare.url()),
        ],
        &[],
    )
    .await;
    DocsWorld {
        stack,
        _dropbox: dropbox,
        _boxcom: boxcom,
        _docushare: docushare,
    }
}

impl DocsWorld {
    /// An instance of `element` (no events); its instance-auth header.
    async fn create_test_instance(&self, element: &str) -> String {
        let code = if element == "docushareflex" {
            String::new()
        } else {
            let q = self
                .stack
                .oauth_redirect(element, APP_ID, APP_SECRET, REDIRECT)
                .await;
            q.get("code").cloned().expect("code")
        };
        let body = json!({"element": {"key": element}, "providerData": {"code": code},
            "name": format!("{element} docs"),
            "configuration": {"oauth.api.key": APP_ID, "oauth.api.secret": APP_SECRET,
                "oauth.callback.url": REDIRECT, "docushare.domain": "acme.docushareflex.com"}});
        let (st, inst) = self
            .stack
            .call(Method::POST, "/instances", Some(body))
            .await;
        assert_eq!(st, 200, "{element}: {inst}");
        format!(
            "User {}, Element {}",
            self.stack.user_secret,
            inst["token"].as_str().expect("token")
        )
    }

    async fn call(
        &self,
        auth: &str,
        method: Method,
        path: &str,
        body: Option<Value>,
    ) -> (u16, Value) {
        self.stack.call_as(method, path, auth, body).await
    }

    async fn get(&self, auth: &str, path: &str) -> (u16, Value) {
        self.call(auth, Method::GET, path, None).await
    }

    async fn delete(&self, auth: &str, path: &str) -> (u16, Value) {
        self.call(auth, Method::DELETE, path, None).await
    }

    async fn upload(&self, auth: &str, path: &str, bytes: Vec<u8>) -> (u16, Value) {
        let part = reqwest::multipart::Part::bytes(bytes).file_name("upload.bin");
        let form = reqwest::multipart::Form::new().part("file", part);
        let resp = self
            .stack
            .http
            .post(
                self.stack
                    .api(&format!("/hubs/documents/files?path={path}")),
            )
            .header("Authorization", auth)
            .multipart(form)
            .send()
            .await
            .expect("upload");
        let status = resp.status().as_u16();
        (status, resp.json().await.unwrap_or(Value::Null))
    }

    async fn download(&self, auth: &str, path: &str) -> (u16, Vec<u8>, Option<String>) {
        let resp = self
            .stack
            .http
            .get(
                self.stack
                    .api(&format!("/hubs/documents/files?path={path}")),
            )
            .header("Authorization", auth)
            .send()
            .await
            .expect("download");
        let status = resp.status().as_u16();
        let length = resp
            .headers()
            .get("content-length")
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        (status, resp.bytes().await.expect("bytes").to_vec(), length)
    }
}

fn names(list: &Value) -> Vec<(String, bool)> {
    let mut v: Vec<(String, bool)> = list
        .as_array()
        .expect("a bare array")
        .iter()
        .map(|e| {
            (
                e["name"].as_str().unwrap_or_default().to_string(),
                e["directory"].as_bool().unwrap_or(false),
            )
        })
        .collect();
    v.sort();
    v
}

/// The whole hub, on one element.
async fn every_hub_operation_works_on(element: &str) {
    let w = create_test_docs_world().await;
    let auth = w.create_test_instance(element).await;
    let folders = "/hubs/documents/folders";
    // Folders: create, conflict, list.
    let (st, f) = w
        .call(
            &auth,
            Method::POST,
            &format!("{folders}?path=/Reports"),
            Some(json!({"path": "/Reports", "name": "Reports", "directory": true})),
        )
        .await;
    assert_eq!(st, 200, "{element}: {f}");
    assert_eq!(
        (f["name"].as_str(), f["directory"].as_bool()),
        (Some("Reports"), Some(true)),
        "{element}: {f}"
    );
    let (st, e) = w
        .call(
            &auth,
            Method::POST,
            &format!("{folders}?path=/Reports"),
            None,
        )
        .await;
    assert_eq!(st, 409, "{element}: {e}");
    assert!(
        e["requestId"].is_string() && e["message"].is_string(),
        "{e}"
    );
    let (st, root) = w.get(&auth, &format!("{folders}/contents?path=/")).await;
    assert_eq!(st, 200, "{element}: {root}");
    assert!(
        names(&root).contains(&("Reports".into(), true)),
        "{element}: {root}"
    );

    // Files: upload, conflict, list, download the exact bytes.
    let bytes: Vec<u8> = (0..=255u8).cycle().take(3000).collect();
    let (st, up) = w.upload(&auth, "/Reports/data.bin", bytes.clone()).await;
    assert_eq!(st, 200, "{element}: {up}");
    assert_eq!(
        (up["name"].as_str(), up["directory"].as_bool()),
        (Some("data.bin"), Some(false)),
        "{element}: {up}"
    );
    let (st, e) = w
        .upload(&auth, "/Reports/data.bin", b"again".to_vec())
        .await;
    assert_eq!(st, 409, "{element}: {e}");
    let (st, inside) = w
        .get(&auth, &format!("{folders}/contents?path=/Reports"))
        .await;
    assert_eq!(st, 200);
    assert_eq!(
        names(&inside),
        vec![("data.bin".into(), false)],
        "{element}: {inside}"
    );
    let listed = &inside[0];
    assert!(
        listed["path"]
            .as_str()
            .is_some_and(|p| p.eq_ignore_ascii_case("/Reports/data.bin")),
        "{listed}"
    );
    assert_eq!(listed["size"], 3000, "{element}: {listed}");
    let (st, got, length) = w.download(&auth, "/Reports/data.bin").await;
    assert_eq!(st, 200);
    assert_eq!(got, bytes, "{element}: the bytes exactly");
    assert_eq!(length.as_deref(), Some("3000"), "{element}");

    // Copy, and its conflict.
    let (st, c) = w
        .call(
            &auth,
            Method::POST,
            &format!("{folders}/copy?path=/Reports"),
            Some(json!({"path": "/Archive"})),
        )
        .await;
    assert_eq!(st, 200, "{element}: {c}");
    let (_, archive) = w
        .get(&auth, &format!("{folders}/contents?path=/Archive"))
        .await;
    assert_eq!(
        names(&archive),
        vec![("data.bin".into(), false)],
        "{element}: {archive}"
    );
    let (st, _) = w
        .call(
            &auth,
            Method::POST,
            &format!("{folders}/copy?path=/Reports"),
            Some(json!({"path": "/Archive"})),
        )
        .await;
    assert_eq!(st, 409, "{element}");

    // Missing objects.
    for (method, path) in [
        (Method::GET, format!("{folders}/contents?path=/Nowhere")),
        (
            Method::GET,
            "/hubs/documents/files?path=/Reports/none.txt".to_string(),
        ),
        (
            Method::DELETE,
            "/hubs/documents/files?path=/Reports/none.txt".to_string(),
        ),
        (Method::DELETE, format!("{folders}?path=/Nowhere")),
        (Method::POST, format!("{folders}/copy?path=/Nowhere")),
    ] {
        let body = (method == Method::POST).then(|| json!({"path": "/Elsewhere"}));
        let (st, e) = w.call(&auth, method.clone(), &path, body).await;
        assert_eq!(st, 404, "{element} {method} {path}: {e}");
        assert!(e["requestId"].is_string(), "{e}");
    }
    // Bad input.
    let (st, _) = w.get(&auth, &format!("{folders}/contents")).await;
    assert_eq!(st, 400);
    let (st, _) = w.delete(&auth, &format!("{folders}?path=/")).await;
    assert_eq!(st, 400);

    // Deletes.
    let (st, _) = w
        .delete(&auth, "/hubs/documents/files?path=/Reports/data.bin")
        .await;
    assert_eq!(st, 200, "{element}");
    let (st, _, _) = w.download(&auth, "/Reports/data.bin").await;
    assert_eq!(st, 404, "{element}");
    let (st, _) = w.delete(&auth, &format!("{folders}?path=/Archive")).await;
    assert_eq!(st, 200, "{element}");
    let (st, _) = w
        .get(&auth, &format!("{folders}/contents?path=/Archive"))
        .await;
    assert_eq!(st, 404, "{element}");
    let (_, root) = w.get(&auth, &format!("{folders}/contents?path=/")).await;
    assert_eq!(
        names(&root),
        vec![("Reports".into(), true)],
        "{element}: {root}"
    );
}

#[tokio::test]
async fn every_hub_operation_works_on_dropbox() {
    every_hub_operation_works_on("dropbox").await;
}

#[tokio::test]
async fn every_hub_operation_works_on_box() {
    every_hub_operation_works_on("box").await;
}

#[tokio::test]
async fn every_hub_operation_works_on_docushare_flex() {
    every_hub_operation_works_on("docushareflex").await;
}

#[tokio::test]
async fn credentials_are_checked_before_routing_on_every_hub_path() {
    let w = create_test_docs_world().await;
    let auth = w.create_test_instance("dropbox").await;
    let wrong = format!("User {}, Element not-a-token", w.stack.user_secret);
    for (method, path) in [
        (Method::GET, "/hubs/documents/folders/contents?path=/"),
        (Method::PATCH, "/hubs/documents/files?path=/a"),
        (Method::PUT, "/hubs/documents/folders?path=/a"),
        (Method::GET, "/hubs/documents/nothing-here"),
        (Method::GET, "/hubs/crm/contacts"),
    ] {
        let (st, e) = w.call(&wrong, method.clone(), path, None).await;
        assert_eq!(st, 401, "{method} {path}: {e}");
        assert!(e["requestId"].is_string(), "{e}");
    }
    let (st, e) = w
        .call(&auth, Method::PATCH, "/hubs/documents/files?path=/a", None)
        .await;
    assert_eq!(st, 405, "{e}");
    assert_eq!(e["code"], "method_not_allowed");
    let (st, e) = w.get(&auth, "/hubs/documents/nothing-here").await;
    assert_eq!(st, 404, "{e}");
    // Not a documents element.
    let (st, _) = w.get(&auth, "/hubs/documents/webhooks").await;
    assert_eq!(st, 400);
}

#[tokio::test]
async fn changes_made_through_the_hub_arrive_as_events_once() {
    use crate::helpers::*;
    let w = create_test_world().await;
    let inst = create_test_instance(&w).await;
    let id = inst["id"].as_u64().expect("id");
    let auth = format!(
        "User {}, Element {}",
        w.stack.user_secret,
        inst["token"].as_str().expect("token")
    );
    let part = reqwest::multipart::Part::bytes(b"hub upload".to_vec()).file_name("memo.txt");
    let resp = w
        .stack
        .http
        .post(w.stack.api("/hubs/documents/files?path=/memo.txt"))
        .header("Authorization", &auth)
        .multipart(reqwest::multipart::Form::new().part("file", part))
        .send()
        .await
        .expect("upload");
    assert_eq!(resp.status(), 200);
    wait_for_events(&w, id, "the upload notified", |e| !e.is_empty()).await;
    let (st, _) = w
        .stack
        .call_as(
            Method::DELETE,
            "/hubs/documents/files?path=/memo.txt",
            &auth,
            None,
        )
        .await;
    assert_eq!(st, 200);
    wait_for_events(&w, id, "the delete notified", |e| e.len() >= 2).await;
    wait_webhooks_drained(&w).await;
    let events: Vec<(String, String)> = w
        .receiver
        .events()
        .into_iter()
        .map(|e| {
            (
                e["eventType"].as_str().unwrap_or_default().to_string(),
                e["path"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect();
    assert_eq!(
        events,
        vec![
            ("CREATED".to_string(), "/memo.txt".to_string()),
            ("DELETED".to_string(), "/memo.txt".to_string())
        ]
    );
}
