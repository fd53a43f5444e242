//! The documents hub on Dropbox: `files/list_folder`, `create_folder_v2`, `delete_v2`,
//! `copy_v2` on the RPC host, and `files/upload` / `files/download` on the content host, whose
//! argument travels in the `Dropbox-API-Arg` header (JSON, non-ASCII escaped as Dropbox asks).

use serde_json::{json, Value};

use super::api::{self, checked, Entry as DbxEntry};
use crate::answer::Answer;
use crate::documents::{Context, DocumentStore, Download, Entry, Upload};
use crate::ElementError;

/// Dropbox's documents, as one instance sees them.
pub struct Docs<'a>(pub Context<'a>);

fn entry(e: &DbxEntry) -> Entry {
    Entry {
        id: e.id.clone(),
        path: e.path_display.clone().unwrap_or_else(|| e.name.clone()),
        name: e.name.clone(),
        directory: e.tag == "folder",
        size: e.size,
        modified: e.server_modified.clone(),
    }
}

fn metadata(v: Value) -> Result<DbxEntry, ElementError> {
    let mut meta = v.get("metadata").cloned().unwrap_or(v);
    if meta.get(".tag").is_none() {
        meta[".tag"] = json!(if meta.get("rev").is_some() {
            "file"
        } else {
            "folder"
        });
    }
    serde_json::from_value(meta).map_err(|e| ElementError::Provider {
        status: 502,
        message: format!("unexpected Dropbox metadata: {e}"),
    })
}

/// The `Dropbox-API-Arg` header: JSON with every non-ASCII character escaped.
fn api_arg(v: &Value) -> String {
    let mut out = String::new();
    for c in v.to_string().chars() {
        // Header values take printable ASCII only (JSON already escapes the C0 controls; DEL
        // it leaves as is).
        if c.is_ascii() && !c.is_ascii_control() {
            out.push(c);
        } else {
            let mut buf = [0u16; 2];
            for unit in c.encode_utf16(&mut buf) {
                out.push_str(&format!("\\u{unit:04x}"));
            }
        }
    }
    out
}

impl Docs<'_> {
    async fn rpc(&self, route: &str, body: Value) -> Result<Value, ElementError> {
        let Context { http, urls, token } = self.0;
        api::rpc(http, urls, token, route, &body).await
    }
}

impl DocumentStore for Docs<'_> {
    async fn list(&self, path: &str) -> Result<Vec<Entry>, ElementError> {
        let Context { http, urls, token } = self.0;
        // Dropbox names the root "".
        let dbx_path = if path == "/" { "" } else { path };
        let first = api::parse(
            self.rpc(
                "files/list_folder",
                json!({"path": dbx_path, "recursive": false}),
            )
            .await?,
        )?;
        let (entries, _) = api::page_through(http, urls, token, first).await?;
        Ok(entries.iter().map(entry).collect())
    }

    async fn create_folder(&self, path: &str) -> Result<Entry, ElementError> {
        let Context { http, urls, token } = self.0;
        api::create_folder(http, urls, token, path)
            .await
            .map(|e| entry(&e))
    }

    async fn delete_folder(&self, path: &str) -> Result<(), ElementError> {
        self.rpc("files/delete_v2", json!({ "path": path }))
            .await
            .map(|_| ())
    }

    async fn copy_folder(&self, from: &str, to: &str) -> Result<Entry, ElementError> {
        let v = self
            .rpc(
                "files/copy_v2",
                json!({"from_path": from, "to_path": to, "autorename": false}),
            )
            .await?;
        Ok(entry(&metadata(v)?))
    }

    async fn upload(&self, path: &str, file: Upload) -> Result<Entry, ElementError> {
        let Context { http, urls, token } = self.0;
        // An existing file is a conflict even when the bytes are the same.
        let arg = json!({"path": path, "mode": "add", "autorename": false, "mute": false,
            "strict_conflict": true});
        let req = http
            .post(format!("{}/2/files/upload", urls.content))
            .bearer_auth(token)
            .header("Dropbox-API-Arg", api_arg(&arg))
            .header("Content-Type", "application/octet-stream")
            .body(file.bytes);
        let answer = checked(Answer::read(http.send(req).await?).await?)?;
        Ok(entry(&metadata(answer.json("Dropbox upload answer")?)?))
    }

    async fn download(&self, path: &str) -> Result<Download, ElementError> {
        let Context { http, urls, token } = self.0;
        let req = http
            .post(format!("{}/2/files/download", urls.content))
            .bearer_auth(token)
            .header("Dropbox-API-Arg", api_arg(&json!({ "path": path })));
        let resp = http.send(req).await?;
        if !resp.status().is_success() {
            return Err(checked(Answer::read(resp).await?).err().unwrap_or(
                ElementError::Provider {
                    status: 502,
                    message: "unexpected Dropbox answer".into(),
                },
            ));
        }
        Ok(Download {
            content_type: crate::documents::content_type_of(path),
            length: resp.content_length(),
            body: resp,
        })
    }

    async fn delete_file(&self, path: &str) -> Result<(), ElementError> {
        self.rpc("files/delete_v2", json!({ "path": path }))
            .await
            .map(|_| ())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn api_args_escape_non_ascii() {
        assert_eq!(
            api_arg(&json!({"path": "/Résumé 😀.txt"})),
            r#"{"path":"/R\u00e9sum\u00e9 \ud83d\ude00.txt"}"#
        );
        assert_eq!(
            api_arg(&json!({"path": "/a\u{7f}b"})),
            r#"{"path":"/a\u007fb"}"#
        );
    }
}
