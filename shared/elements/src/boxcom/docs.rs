//! The documents hub on Box: paths resolved to ids by walking listings from folder `0`, then
//! `/2.0/folders` and `/2.0/files` by id; uploads go to the upload host as multipart with the
//! `attributes` part first; downloads follow Box's redirect to its download host (through the
//! same address rule as every provider call).

use serde_json::{json, Value};

use super::{call, folder_id, item_at, items};
use crate::answer::Answer;
use crate::documents::{join, split, Context, DocumentStore, Download, Entry, Upload};
use crate::ElementError;

/// Box's documents, as one instance sees them.
pub struct Docs<'a>(pub Context<'a>);

fn entry(parent: &str, item: &Value) -> Entry {
    let name = item["name"].as_str().unwrap_or_default().to_string();
    Entry {
        id: item["id"].as_str().map(str::to_string),
        path: join(parent, &name),
        directory: item["type"] == "folder",
        size: item["size"].as_u64(),
        modified: item["modified_at"].as_str().map(str::to_string),
        name,
    }
}

impl Docs<'_> {
    /// The id of the item at `path`, which must be of `kind` (`file` or `folder`).
    async fn id_of(&self, path: &str, kind: &str) -> Result<String, ElementError> {
        let Context { http, urls, token } = self.0;
        let item = item_at(http, urls, token, path).await?;
        match (item["type"].as_str(), item["id"].as_str()) {
            (Some(t), Some(id)) if t == kind => Ok(id.to_string()),
            _ => Err(ElementError::Rejected {
                status: 400,
                message: format!("{path} is not a {kind}"),
            }),
        }
    }
}

impl DocumentStore for Docs<'_> {
    async fn list(&self, path: &str) -> Result<Vec<Entry>, ElementError> {
        let Context { http, urls, token } = self.0;
        let id = folder_id(http, urls, token, path).await?;
        let found = items(http, urls, token, &id).await?;
        Ok(found.iter().map(|i| entry(path, i)).collect())
    }

    async fn create_folder(&self, path: &str) -> Result<Entry, ElementError> {
        let Context { http, urls, token } = self.0;
        let (parent, name) = split(path);
        let parent_id = folder_id(http, urls, token, parent).await?;
        let req = http
            .post(format!("{}/2.0/folders", urls.api))
            .json(&json!({"name": name, "parent": {"id": parent_id}}));
        Ok(entry(parent, &call(http, req, token).await?))
    }

    async fn delete_folder(&self, path: &str) -> Result<(), ElementError> {
        let Context { http, urls, token } = self.0;
        let id = self.id_of(path, "folder").await?;
        let req = http.delete(format!("{}/2.0/folders/{id}?recursive=true", urls.api));
        call(http, req, token).await.map(|_| ())
    }

    async fn copy_folder(&self, from: &str, to: &str) -> Result<Entry, ElementError> {
        let Context { http, urls, token } = self.0;
        let id = self.id_of(from, "folder").await?;
        let (parent, name) = split(to);
        let parent_id = folder_id(http, urls, token, parent).await?;
        let req = http
            .post(format!("{}/2.0/folders/{id}/copy", urls.api))
            .json(&json!({"parent": {"id": parent_id}, "name": name}));
        Ok(entry(parent, &call(http, req, token).await?))
    }

    async fn upload(&self, path: &str, file: Upload) -> Result<Entry, ElementError> {
        let Context { http, urls, token } = self.0;
        let (parent, name) = split(path);
        let parent_id = folder_id(http, urls, token, parent).await?;
        let attributes = json!({"name": name, "parent": {"id": parent_id}}).to_string();
        let length = file.bytes.len() as u64;
        let part = reqwest::multipart::Part::stream_with_length(file.bytes, length)
            .file_name(name.to_string())
            .mime_str(&file.content_type)
            .map_err(|_| ElementError::Invalid("the file's content type is not valid".into()))?;
        // Box reads `attributes` before `file`.
        let form = reqwest::multipart::Form::new()
            .text("attributes", attributes)
            .part("file", part);
        let req = http
            .post(format!("{}/api/2.0/files/content", urls.content))
            .multipart(form);
        let answer = call(http, req, token).await?;
        let item = answer["entries"].get(0).cloned().unwrap_or(answer);
        Ok(entry(parent, &item))
    }

    async fn download(&self, path: &str) -> Result<Download, ElementError> {
        let Context { http, urls, token } = self.0;
        let id = self.id_of(path, "file").await?;
        let req = http
            .get(format!("{}/2.0/files/{id}/content", urls.api))
            .bearer_auth(token);
        let mut resp = http.send(req).await?;
        // Box answers with a redirect to its download host.
        if resp.status().is_redirection() {
            let location = resp
                .headers()
                .get(reqwest::header::LOCATION)
                .and_then(|l| l.to_str().ok())
                .map(str::to_string)
                .ok_or_else(|| ElementError::Provider {
                    status: 502,
                    message: "Box redirected a download nowhere".into(),
                })?;
            resp = http.send(http.get(location)).await?;
        }
        if !resp.status().is_success() {
            return Err(Answer::read(resp).await?.error());
        }
        Ok(Download {
            content_type: crate::documents::content_type_of(path),
            length: resp.content_length(),
            body: resp,
        })
    }

    async fn delete_file(&self, path: &str) -> Result<(), ElementError> {
        let Context { http, urls, token } = self.0;
        let id = self.id_of(path, "file").await?;
        let req = http.delete(format!("{}/2.0/files/{id}", urls.api));
        call(http, req, token).await.map(|_| ())
    }
}
