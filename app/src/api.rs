//! The JSON API under `/api`, composed in one place: the tasks (CONTRACT §4), who the
//! caller is, and Better Auth's routes (§5, §6) with its admin routes.

use crate::{admin, auth, error::AppError, state::AppState, tasks};
use axum::{routing::get, Router};

pub fn router() -> Router<AppState> {
    Router::new()
        .merge(tasks::api::router())
        .route("/me", get(auth::api::me))
        .nest("/auth/admin", admin::api::router())
        .nest("/auth", auth::api::router())
        .fallback(|| async { AppError::NotFound("Not found".to_owned()) })
}
