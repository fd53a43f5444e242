//! Tenancy: header forms, wrong secrets, other users' instances.

use serde_json::Value;

use crate::helpers::*;

#[tokio::test]
async fn secrets_are_checked_and_other_users_see_nothing() {
    let w = create_test_world().await;
    let inst = create_test_instance(&w).await;
    let id = inst["id"].as_u64().expect("id");
    let get = |auth: String| {
        let req = w
            .stack
            .http
            .get(w.stack.api(&format!("/instances/{id}")))
            .header("Authorization", auth);
        async move { req.send().await.expect("get").status().as_u16() }
    };
    let s = &w.stack;
    assert_eq!(
        get(format!(
            "  Organization {} ,  User   {} ",
            s.org_secret, s.user_secret
        ))
        .await,
        200
    );
    assert_eq!(
        get(format!("User wrong, Organization {}", s.org_secret)).await,
        401
    );
    assert_eq!(
        get(format!("User {}, Organization wrong", s.user_secret)).await,
        401
    );
    assert_eq!(get(String::new()).await, 401);
    let (other_org, other_user) = s.create_tenant("Other", "x@other.test").await;
    assert_eq!(
        get(format!("User {other_user}, Organization {other_org}")).await,
        404
    );
    // A user of one org with another org's secret is refused.
    assert_eq!(
        get(format!("User {other_user}, Organization {}", s.org_secret)).await,
        401
    );

    // Only hashes are stored: no secret appears in Redis.
    let client = redis::Client::open(s.redis.url()).expect("redis");
    let mut conn = client
        .get_multiplexed_async_connection()
        .await
        .expect("conn");
    let keys: Vec<String> = redis::cmd("KEYS")
        .arg("*")
        .query_async(&mut conn)
        .await
        .expect("keys");
    let mut dump = String::new();
    for k in keys {
        let t: String = redis::cmd("TYPE")
            .arg(&k)
            .query_async(&mut conn)
            .await
            .expect("type");
        let v: Value = match t.as_str() {
            "string" => Value::String(
                redis::cmd("GET")
                    .arg(&k)
                    .query_async(&mut conn)
                    .await
                    .unwrap_or_default(),
            ),
            "hash" => {
                let m: Vec<String> = redis::cmd("HGETALL")
                    .arg(&k)
                    .query_async(&mut conn)
                    .await
                    .unwrap_or_default();
                Value::from(m)
            }
            _ => Value::Null,
        };
        dump.push_str(&k);
        dump.push_str(&v.to_string());
    }
    let mut secrets: Vec<String> = vec![
        s.user_secret.clone(),
        s.org_secret.clone(),
        other_user.clone(),
        other_org.clone(),
        inst["token"].as_str().unwrap_or("x").to_string(),
        CLIENT_SECRET.to_string(),
        SIGNATURE_KEY.to_string(),
        herald_e2e::stack::ADMIN_TOKEN.to_string(),
    ];
    secrets.extend(w.dropbox.oauth.issued_tokens());
    assert!(secrets.len() >= 9, "the provider issued tokens");
    for secret in &secrets {
        assert!(
            !dump.contains(secret.as_str()),
            "a secret is stored in plain text in Redis"
        );
    }
    // Nor does any log line carry one (logs of every test in this binary are captured).
    let logs = herald_e2e::logs::capture().text();
    assert!(
        logs.contains("\"request_id\""),
        "requests are logged with their id"
    );
    for secret in &secrets {
        assert!(
            !logs.contains(secret.as_str()),
            "a secret appears in the logs"
        );
    }
    w.stack.shutdown().await;
}

#[tokio::test]
async fn instance_creation_errors_are_clear_and_leave_nothing() {
    let w = create_test_world().await;
    let post = |body: String| {
        let req = w
            .stack
            .http
            .post(w.stack.api("/instances"))
            .header("Authorization", w.stack.platform_auth())
            .header("Content-Type", "application/json")
            .body(body);
        async move {
            let r = req.send().await.expect("post");
            (
                r.status().as_u16(),
                r.json::<Value>().await.unwrap_or(Value::Null),
            )
        }
    };
    let (st, v) = post(r#"{"element":{"key":"dropbox"},"providerData":{"code":"x"},"configuration":{"oauth.api.key":"k"}}"#.into()).await;
    assert_eq!(st, 400);
    assert_eq!(
        v["message"],
        "Missing required configuration: oauth.api.secret, oauth.callback.url"
    );
    assert!(v["requestId"].is_string());
    let bad_code = dropbox_instance_body("not-a-code", &w.receiver.url).to_string();
    let (st, v) = post(bad_code).await;
    assert_eq!(st, 400);
    assert!(
        v["message"]
            .as_str()
            .unwrap_or("")
            .contains("code doesn't exist"),
        "{v}"
    );
    let (st, _) = post(r#"{"element":{"key":"nosuch"}}"#.into()).await;
    assert_eq!(st, 404);
    let (st, _) = post("{not json".into()).await;
    assert_eq!(st, 400);
    let (_, list) = get_json(&w, "/instances").await;
    assert_eq!(list, Value::Array(vec![]), "nothing half-created");
    w.stack.shutdown().await;
}

fn fixture(name: &str) -> String {
    std::fs::read_to_string(format!("{}/fixtures/{name}", env!("CARGO_MANIFEST_DIR")))
        .expect("fixture")
}

#[tokio::test]
async fn the_seed_instance_bodies_of_the_guide_and_dropbox_docs_are_accepted() {
    let w = create_test_world().await;
    // The guide's instance.json (early closing brace included) and the Dropbox doc's body, with
    // only their <PLACEHOLDERS> filled in, as a user would.
    for (file, name) in [
        ("guide-instance.json", "<INSERT_INSTANCE_NAME>"),
        ("dropbox-instance.json", "<INSTANCE_NAME>"),
    ] {
        let code = create_test_code(&w).await;
        let body = fixture(file)
            .replace("Code on Return the URL", &code)
            .replace("<AUTHORIZATION_GRANT_CODE>", &code)
            .replace("<SAMPLE_CALLLBACK_URL>", APP_CALLBACK)
            .replace("<SAMPLE_API_KEY>", CLIENT_ID)
            .replace("<CLIENT_ID>", CLIENT_ID)
            .replace("<SAMPLE_API_SECRET>", CLIENT_SECRET)
            .replace("<CLIENT_SECRET>", CLIENT_SECRET)
            .replace(
                "https://console.cloud-elements.com/elements/api-v2/events/dropbox",
                &w.receiver.url,
            )
            .replace("<INSERT_YOUR_APPS_CALLBACK_URL>", &w.receiver.url)
            .replace("<INSERT_KEY>", SIGNATURE_KEY)
            .replace("<INSERT_TAGS>", "guide")
            .replace("<ADD_YOUR_TAGS>", "guide")
            .replace(name, "Seed instance");
        let resp = w
            .stack
            .http
            .post(w.stack.api("/instances"))
            .header("Authorization", w.stack.platform_auth())
            .header("Content-Type", "application/json")
            .body(body)
            .send()
            .await
            .expect("post");
        assert_eq!(resp.status(), 200, "{file}");
        let v: Value = resp.json().await.expect("json");
        assert_eq!(v["name"], "Seed instance", "{file}");
        assert_eq!(v["tags"], serde_json::json!(["guide"]), "{file}");
        assert_eq!(v["eventsEnabled"], true, "{file}");
        assert_eq!(
            v["configuration"]["event.notification.callback.url"],
            w.receiver.url.as_str()
        );
    }
    w.stack.shutdown().await;
}

#[tokio::test]
async fn a_denied_authorization_redirects_with_an_error() {
    let w = create_test_world().await;
    w.dropbox.set_deny(true);
    let (_, v) = get_json(&w, &format!(
        "/elements/dropbox/oauth/url?apiKey={CLIENT_ID}&apiSecret=x&callbackUrl={APP_CALLBACK}&state=dropbox"
    ))
    .await;
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client");
    let resp = client
        .get(v["oauthUrl"].as_str().expect("url"))
        .send()
        .await
        .expect("authorize");
    assert_eq!(resp.status(), 302);
    let location = url::Url::parse(resp.headers()["location"].to_str().expect("loc")).expect("url");
    let q: std::collections::HashMap<_, _> = location.query_pairs().into_owned().collect();
    assert_eq!(q.get("error").map(String::as_str), Some("access_denied"));
    assert_eq!(q.get("state").map(String::as_str), Some("dropbox"));
    assert!(!q.contains_key("code"));
    let (st, e) = get_json(&w, "/elements/dropbox/oauth/url?apiSecret=x").await;
    assert_eq!(st, 400);
    assert!(e["message"]
        .as_str()
        .is_some_and(|m| m.contains("apiKey") && m.contains("callbackUrl")));
    let (st, _) = get_json(&w, "/elements/nosuch/oauth/url?apiKey=a&callbackUrl=b").await;
    assert_eq!(st, 404);
    w.stack.shutdown().await;
}

#[tokio::test]
async fn requests_are_bounded_413_408_504() {
    let w = create_test_world_with(&[
        ("HERALD_PROVIDER_TIMEOUT_MS", "600".to_string()),
        ("HERALD_REQUEST_TIMEOUT_MS", "3000".to_string()),
    ])
    .await;
    let inst = create_test_instance(&w).await;
    let element_auth = format!(
        "User {}, Element {}",
        w.stack.user_secret,
        inst["token"].as_str().expect("token")
    );
    // Too large a body.
    let big = format!("{{\"name\": \"{}\"}}", "x".repeat(2 * 1024 * 1024));
    let r = w
        .stack
        .http
        .post(w.stack.api("/instances"))
        .header("Authorization", w.stack.platform_auth())
        .header("Content-Type", "application/json")
        .body(big)
        .send()
        .await
        .expect("post");
    assert_eq!(r.status(), 413);
    let v: Value = r.json().await.expect("json body");
    assert!(v["requestId"].is_string());
    // A provider slower than the provider timeout: 504.
    w.dropbox
        .set_api_delay(std::time::Duration::from_millis(1500));
    let r = w
        .stack
        .http
        .post(w.stack.api("/hubs/documents/folders?path=/slow"))
        .header("Authorization", &element_auth)
        .send()
        .await
        .expect("post");
    assert_eq!(r.status(), 504);
    let v: Value = r.json().await.expect("json body");
    assert_eq!(v["code"], "provider_timeout");
    w.stack.shutdown().await;

    // A request slower than the request timeout: 408.
    let w = create_test_world_with(&[("HERALD_REQUEST_TIMEOUT_MS", "500".to_string())]).await;
    let inst = create_test_instance(&w).await;
    let element_auth = format!(
        "User {}, Element {}",
        w.stack.user_secret,
        inst["token"].as_str().expect("token")
    );
    w.dropbox
        .set_api_delay(std::time::Duration::from_millis(1500));
    let r = w
        .stack
        .http
        .post(w.stack.api("/hubs/documents/folders?path=/slower"))
        .header("Authorization", &element_auth)
        .send()
        .await
        .expect("post");
    assert_eq!(r.status(), 408);
    assert!(r.headers().contains_key("elements-request-id"));
    w.stack.shutdown().await;
}

#[tokio::test]
async fn the_gateway_serves_the_openapi_document_of_its_routes() {
    let w = create_test_world().await;
    let r = w
        .stack
        .http
        .get(format!("http://{}/openapi.json", w.stack.gateway))
        .send()
        .await
        .expect("get");
    assert_eq!(r.status(), 200);
    let served: Value = r.json().await.expect("json");
    let built = herald_gateway::openapi::document(&herald_gateway::routes::operations());
    assert_eq!(served, built);
    assert!(served["openapi"]
        .as_str()
        .is_some_and(|v| v.starts_with("3.")));
    let ops: usize = served["paths"]
        .as_object()
        .expect("paths")
        .values()
        .map(|p| p.as_object().map(|m| m.len()).unwrap_or(0))
        .sum();
    assert_eq!(ops, herald_gateway::routes::operations().len());
    // An unserved method is a JSON 405, an unknown path a JSON 404.
    let r = w
        .stack
        .http
        .put(w.stack.api("/elements"))
        .send()
        .await
        .expect("put");
    assert_eq!(r.status(), 405);
    assert_eq!(
        r.json::<Value>().await.expect("json")["code"],
        "method_not_allowed"
    );
    let r = w
        .stack
        .http
        .get(w.stack.api("/nowhere"))
        .send()
        .await
        .expect("get");
    assert_eq!(r.status(), 404);
    assert!(r.json::<Value>().await.expect("json")["requestId"].is_string());
    w.stack.shutdown().await;
}

#[tokio::test]
async fn callback_urls_on_private_addresses_are_refused_unless_allowed() {
    let w =
        create_test_world_with(&[("HERALD_ALLOW_PRIVATE_CALLBACKS", "false".to_string())]).await;
    for bad in [
        "http://127.0.0.1:9/cb",
        "http://2130706433/cb",
        "http://localhost./cb",
        "http://[::1]/cb",
        "http://169.254.169.254/x",
    ] {
        let code = create_test_code(&w).await;
        let r = w
            .stack
            .http
            .post(w.stack.api("/instances"))
            .header("Authorization", w.stack.platform_auth())
            .json(&dropbox_instance_body(&code, bad))
            .send()
            .await
            .expect("post");
        assert_eq!(r.status(), 400, "{bad}");
        let v: Value = r.json().await.expect("json");
        assert!(
            v["message"]
                .as_str()
                .is_some_and(|m| m.contains("event.notification.callback.url")),
            "{v}"
        );
    }
    // A public name is accepted (one that does not resolve here, too).
    let code = create_test_code(&w).await;
    let r = w
        .stack
        .http
        .post(w.stack.api("/instances"))
        .header("Authorization", w.stack.platform_auth())
        .json(&dropbox_instance_body(
            &code,
            "https://hooks.does-not-resolve.invalid/herald",
        ))
        .send()
        .await
        .expect("post");
    assert_eq!(r.status(), 200);
    let inst: Value = r.json().await.expect("json");
    let r = w
        .stack
        .http
        .patch(w.stack.api(&format!("/instances/{}", inst["id"])))
        .header("Authorization", w.stack.platform_auth())
        .json(&serde_json::json!({"event.notification.callback.url": "http://0x7f000001/cb"}))
        .send()
        .await
        .expect("patch");
    assert_eq!(r.status(), 400, "PATCH is checked too");
    let (_, now) = get_json(&w, &format!("/instances/{}", inst["id"])).await;
    assert_eq!(
        now["configuration"]["event.notification.callback.url"],
        "https://hooks.does-not-resolve.invalid/herald"
    );
    w.stack.shutdown().await;
}

#[tokio::test]
async fn callers_over_their_rate_limit_get_429_with_retry_after() {
    let stack = herald_e2e::stack::Stack::start(&[
        ("HERALD_RATE_LIMIT_TENANT", "3".to_string()),
        ("HERALD_INGEST_RATE_LIMIT_IP", "2".to_string()),
    ])
    .await;
    let mut statuses = Vec::new();
    let mut limited = None;
    for _ in 0..6 {
        let resp = stack
            .http
            .get(stack.api("/instances"))
            .header("Authorization", stack.platform_auth())
            .send()
            .await
            .expect("request");
        statuses.push(resp.status().as_u16());
        if resp.status() == 429 && limited.is_none() {
            limited = Some(resp);
        }
    }
    assert_eq!(&statuses[..3], &[200, 200, 200], "{statuses:?}");
    let limited = limited.expect("a 429");
    assert!(limited.headers().get("retry-after").is_some());
    assert!(limited.headers().get("elements-request-id").is_some());
    // Another tenant is not held by the first one's limit.
    let (other_org, other_user) = stack.create_tenant("Other", "other@acme.test").await;
    let other = format!("User {other_user}, Organization {other_org}");
    let resp = stack
        .http
        .get(stack.api("/instances"))
        .header("Authorization", other)
        .send()
        .await
        .expect("request");
    assert_eq!(resp.status(), 200);
    // Ingest limits by client address.
    let mut ingest = Vec::new();
    for _ in 0..4 {
        let resp = stack
            .http
            .post(stack.ingest_url("dropbox"))
            .body("{}")
            .send()
            .await
            .expect("post");
        ingest.push(resp.status().as_u16());
    }
    assert_eq!(
        ingest.iter().filter(|s| **s == 429).count(),
        2,
        "{ingest:?}"
    );
}

#[tokio::test]
async fn a_client_that_never_finishes_its_headers_is_disconnected() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let stack =
        herald_e2e::stack::Stack::start(&[("HERALD_HEADER_READ_TIMEOUT_MS", "300".to_string())])
            .await;
    for addr in [stack.gateway, stack.ingest] {
        let mut slow = tokio::net::TcpStream::connect(addr).await.expect("connect");
        slow.write_all(b"GET /elements/api-v2/elements HTTP/1.1\r\nHost: x\r\n")
            .await
            .expect("partial headers");
        // The server closes the connection (EOF) well before this deadline.
        let mut buf = [0u8; 512];
        let closed = tokio::time::timeout(std::time::Duration::from_secs(5), async {
            loop {
                match slow.read(&mut buf).await {
                    Ok(0) | Err(_) => return,
                    Ok(_) => continue,
                }
            }
        })
        .await;
        assert!(closed.is_ok(), "{addr} kept a half-sent request open");
    }
    // Complete requests are served as usual.
    let (st, _) = stack.call(reqwest::Method::GET, "/elements", None).await;
    assert_eq!(st, 200);
}
