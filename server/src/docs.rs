//! `/openapi.json`, and `/docs`: Swagger UI from the files built into the binary
//! (`utoipa-swagger-ui`'s vendored copy), in a page of this site's own.
//!
//! The page (`docs/index.html`) gives Swagger UI what its own leaves out, so that it
//! passes axe like every other page: one `main` landmark holding everything, the API's
//! title as the one `h1` and an `h2` above the operations (Swagger UI's own title block,
//! an `h1` with version badges too pale to read, is left out), colours of at least 4.5:1
//! (`docs/docs.css`), and no deep links (`docs/initializer.js`), whose anchors would sit
//! inside each operation's expand button. Everything is a file of this origin, so the
//! site's Content-Security-Policy holds.

use axum::{
    extract::Path,
    http::{header, HeaderValue, StatusCode},
    response::{Html, IntoResponse, Redirect, Response},
    routing::get,
    Json, Router,
};
use html_escape::encode_quoted_attribute;
use std::sync::Arc;
use tower_http::set_header::SetResponseHeaderLayer;
use utoipa::openapi::OpenApi;

const PAGE: &str = include_str!("docs/index.html");
const INITIALIZER: &str = include_str!("docs/initializer.js");
const STYLESHEET: &str = include_str!("docs/docs.css");

pub fn router<S: Clone + Send + Sync + 'static>(document: OpenApi) -> Router<S> {
    let policy = HeaderValue::from_str(&app::csp::policy(None, None))
        .unwrap_or_else(|e| unreachable!("the policy is a valid header value: {e}"));
    let page = Html(page(&document));
    let document = Arc::new(document);
    let swagger_ui = Arc::new(utoipa_swagger_ui::Config::default());
    Router::new()
        .route(
            "/openapi.json",
            get(move || std::future::ready(Json(document.clone()))),
        )
        .route("/docs", get(|| async { Redirect::to("/docs/") }))
        .route(
            "/docs/",
            get({
                let page = page.clone();
                move || std::future::ready(page.clone())
            }),
        )
        .route(
            "/docs/{*file}",
            get(move |Path(file): Path<String>| {
                std::future::ready(file_of(&file, &page, &swagger_ui))
            }),
        )
        .layer(SetResponseHeaderLayer::if_not_present(
            header::CONTENT_SECURITY_POLICY,
            policy,
        ))
}

/// A file of `/docs/`: the page, its initializer and stylesheet, or one of Swagger UI's.
fn file_of(
    file: &str,
    page: &Html<String>,
    swagger_ui: &Arc<utoipa_swagger_ui::Config<'static>>,
) -> Response {
    let own = |content_type: &'static str, body: &'static str| {
        ([(header::CONTENT_TYPE, content_type)], body).into_response()
    };
    match file {
        "index.html" => page.clone().into_response(),
        "swagger-initializer.js" => own("text/javascript; charset=utf-8", INITIALIZER),
        "docs.css" => own("text/css; charset=utf-8", STYLESHEET),
        _ => match utoipa_swagger_ui::serve(file, swagger_ui.clone()) {
            Ok(Some(found)) => {
                let mut response = (
                    [(header::CONTENT_TYPE, found.content_type)],
                    found.bytes.into_owned(),
                )
                    .into_response();
                if found.gzpipped {
                    response
                        .headers_mut()
                        .insert(header::CONTENT_ENCODING, HeaderValue::from_static("gzip"));
                }
                response
            }
            Ok(None) => StatusCode::NOT_FOUND.into_response(),
            Err(cause) => {
                tracing::error!(%cause, file, "cannot serve a file of Swagger UI");
                StatusCode::INTERNAL_SERVER_ERROR.into_response()
            }
        },
    }
}

/// The page, with the document's title, version and description.
fn page(document: &OpenApi) -> String {
    let info = &document.info;
    PAGE.replace("{title}", &encode_quoted_attribute(&info.title))
        .replace("{version}", &encode_quoted_attribute(&info.version))
        .replace(
            "{description}",
            &with_code(&encode_quoted_attribute(
                info.description.as_deref().unwrap_or_default(),
            )),
        )
}

/// The description's `` `code` `` spans as `<code>`, as Swagger UI's Markdown showed them.
fn with_code(escaped: &str) -> String {
    escaped
        .split('`')
        .enumerate()
        .map(|(n, part)| {
            if n % 2 == 1 {
                format!("<code>{part}</code>")
            } else {
                part.to_owned()
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use utoipa::OpenApi as _;

    #[test]
    fn the_description_stays_text_with_its_code_spans_as_code() {
        assert_eq!(
            with_code(&encode_quoted_attribute(
                "Use `Authorization: Bearer <jwt>` & <b>no</b> markup"
            )),
            "Use <code>Authorization: Bearer &lt;jwt&gt;</code> &amp; &lt;b&gt;no&lt;/b&gt; markup"
        );
    }

    #[test]
    fn the_page_names_the_api_and_leaves_no_placeholder() {
        let page = page(&app::openapi::ApiDoc::openapi());
        assert!(page.contains("<h1>Taskboard API"), "{page}");
        assert!(!page.contains("{title}") && !page.contains("{description}"));
    }
}
