//! Prints the API's OpenAPI document (the one `GET /openapi.json` serves), for validators.

fn main() {
    let doc = herald_gateway::openapi::document(&herald_gateway::routes::operations());
    println!("{}", serde_json::to_string_pretty(&doc).unwrap_or_default());
}
