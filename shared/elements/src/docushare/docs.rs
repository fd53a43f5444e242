//! The documents hub on DocuShare Flex [assumed API]: `GET /api/v1/folders/contents?path=`,
//! `POST /api/v1/folders {"path"}`, `DELETE /api/v1/folders?path=`, `POST /api/v1/folders/copy
//! {"from","to"}`, `PUT|GET|DELETE /api/v1/files?path=` (raw bytes). Items are
//! `{"handle","name","type":"collection"|"document","path","size","modified"}`; errors
//! `{"error","message"}` with 404 / 409 / 400.

use serde_json::{json, Value};

use crate::answer::Answer;
use crate::documents::{Context, DocumentStore, Download, Entry, Upload};
use crate::ElementError;

/// DocuShare Flex's documents, as one instance sees them.
pub struct Docs<'a>(pub Context<'a>);

fn entry(item: &Value) -> Entry {
    Entry {
        id: item["handle"].as_str().map(str::to_string),
        path: item["path"].as_str().unwrap_or_default().to_string(),
        name: item["name"].as_str().unwrap_or_default().to_string(),
        directory: item["type"] == "collection",
        size: item["size"].as_u64(),
        modified: item["modified"].as_str().map(str::to_string),
    }
}

impl Docs<'_> {
    fn url(&self, resource: &str) -> String {
        format!("{}/api/v1/{resource}", self.0.urls.api)
    }

    async fn json(&self, req: reqwest::RequestBuilder) -> Result<Value, ElementError> {
        let Context { http, token, .. } = self.0;
        http.answer(req.bearer_auth(token))
            .await?
            .json("DocuShare Flex answer")
    }
}

impl DocumentStore for Docs<'_> {
    async fn list(&self, path: &str) -> Result<Vec<Entry>, ElementError> {
        let http = self.0.http;
        let req = http
            .get(self.url("folders/contents"))
            .query(&[("path", path)]);
        let v = self.json(req).await?;
        Ok(v["items"]
            .as_array()
            .map(|items| items.iter().map(entry).collect())
            .unwrap_or_default())
    }

    async fn create_folder(&self, path: &str) -> Result<Entry, ElementError> {
        let req = self
            .0
            .http
            .post(self.url("folders"))
            .json(&json!({ "path": path }));
        Ok(entry(&self.json(req).await?))
    }

    async fn delete_folder(&self, path: &str) -> Result<(), ElementError> {
        let req = self
            .0
            .http
            .delete(self.url("folders"))
            .query(&[("path", path)]);
        self.json(req).await.map(|_| ())
    }

    async fn copy_folder(&self, from: &str, to: &str) -> Result<Entry, ElementError> {
        let req = self
            .0
            .http
            .post(self.url("folders/copy"))
            .json(&json!({"from": from, "to": to}));
        Ok(entry(&self.json(req).await?))
    }

    async fn upload(&self, path: &str, file: Upload) -> Result<Entry, ElementError> {
        let req = self
            .0
            .http
            .put(self.url("files"))
            .query(&[("path", path)])
            .header("Content-Type", file.content_type)
            .body(file.bytes);
        Ok(entry(&self.json(req).await?))
    }

    async fn download(&self, path: &str) -> Result<Download, ElementError> {
        let Context { http, token, .. } = self.0;
        let req = http
            .get(self.url("files"))
            .query(&[("path", path)])
            .bearer_auth(token);
        let resp = http.send(req).await?;
        if !resp.status().is_success() {
            return Err(Answer::read(resp).await?.error());
        }
        let content_type = resp
            .headers()
            .get(reqwest::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
            .unwrap_or_else(|| crate::documents::content_type_of(path));
        Ok(Download {
            content_type,
            length: resp.content_length(),
            body: resp,
        })
    }

    async fn delete_file(&self, path: &str) -> Result<(), ElementError> {
        let req = self
            .0
            .http
            .delete(self.url("files"))
            .query(&[("path", path)]);
        self.json(req).await.map(|_| ())
    }
}
