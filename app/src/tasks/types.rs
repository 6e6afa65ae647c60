//! Tasks as clients see them, and task input parsed into types that hold only valid values.

use crate::error::{at_most_chars, AppError, FieldError, FieldErrors};
use serde::{Deserialize, Deserializer, Serialize};

/// A task (CONTRACT §4).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema, sqlx::FromRow))]
pub struct Task {
    pub id: String,
    /// 1 to 200 characters, trimmed.
    pub title: String,
    /// At most 2000 characters.
    pub description: Option<String>,
    #[cfg_attr(feature = "ssr", sqlx(try_from = "crate::db::Flag"))]
    pub completed: bool,
    #[serde(serialize_with = "crate::wire_time::millis")]
    #[cfg_attr(feature = "ssr", schema(format = DateTime))]
    pub created_at: String,
    #[serde(serialize_with = "crate::wire_time::millis")]
    #[cfg_attr(feature = "ssr", schema(format = DateTime))]
    pub updated_at: String,
}

/// A title: 1 to 200 characters after trimming.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaskTitle(String);

impl TaskTitle {
    pub const MAX_CHARS: usize = 200;

    pub fn parse(raw: &str) -> Result<Self, FieldError> {
        let title = raw.trim();
        if title.is_empty() {
            return Err(FieldError::body("title", "Title can't be empty"));
        }
        if title.chars().any(char::is_control) {
            return Err(FieldError::body(
                "title",
                "Title can't contain control characters",
            ));
        }
        at_most_chars("title", title, Self::MAX_CHARS, || {
            format!("Title must be at most {} characters", Self::MAX_CHARS)
        })?;
        Ok(Self(title.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A description: at most 2000 characters, stored exactly as given.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaskDescription(String);

impl TaskDescription {
    pub const MAX_CHARS: usize = 2000;

    pub fn parse(raw: &str) -> Result<Self, FieldError> {
        // Line breaks and tabs are text; other control characters are not (and PostgreSQL
        // cannot store a NUL).
        if raw
            .chars()
            .any(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t'))
        {
            return Err(FieldError::body(
                "description",
                "Description can't contain control characters other than line breaks and tabs",
            ));
        }
        at_most_chars("description", raw, Self::MAX_CHARS, || {
            format!("Description must be at most {} characters", Self::MAX_CHARS)
        })?;
        Ok(Self(raw.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The body of `POST /api/tasks`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct NewTask {
    /// 1 to 200 characters after trimming, no control characters.
    #[cfg_attr(feature = "ssr", schema(min_length = 1, max_length = 200))]
    pub title: String,
    /// At most 2000 characters; line breaks and tabs are the only control characters.
    #[serde(default)]
    #[cfg_attr(feature = "ssr", schema(max_length = 2000))]
    pub description: Option<String>,
    #[serde(default)]
    pub completed: Option<bool>,
}

/// A new task that passed every rule.
#[derive(Debug, Clone)]
pub struct ValidNewTask {
    pub title: TaskTitle,
    pub description: Option<TaskDescription>,
    pub completed: bool,
}

impl NewTask {
    pub fn parse(&self) -> Result<ValidNewTask, AppError> {
        let title = TaskTitle::parse(&self.title);
        let description = self
            .description
            .as_deref()
            .map(TaskDescription::parse)
            .transpose();
        let mut fields = FieldErrors::default();
        let (title, description) = (fields.check(title), fields.check(description));
        fields.finish(|| {
            Some(ValidNewTask {
                title: title?,
                description: description?,
                completed: self.completed.unwrap_or(false),
            })
        })
    }
}

/// The body of `PATCH /api/tasks/{id}`: absent fields stay as they are, and a `null`
/// description clears it.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct TaskPatch {
    /// 1 to 200 characters after trimming, no control characters.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "ssr", schema(min_length = 1, max_length = 200))]
    pub title: Option<String>,
    /// At most 2000 characters; `null` clears it.
    #[serde(
        default,
        deserialize_with = "present",
        skip_serializing_if = "Option::is_none"
    )]
    #[cfg_attr(feature = "ssr", schema(value_type = Option<String>, max_length = 2000))]
    pub description: Option<Option<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub completed: Option<bool>,
}

/// Tells a field sent as `null` (`Some(None)`) from one not sent at all (`None`).
fn present<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Option<String>>, D::Error> {
    Option::<String>::deserialize(d).map(Some)
}

#[derive(Debug, Clone, Default)]
pub struct ValidTaskPatch {
    pub title: Option<TaskTitle>,
    pub description: Option<Option<TaskDescription>>,
    pub completed: Option<bool>,
}

impl TaskPatch {
    pub fn parse(&self) -> Result<ValidTaskPatch, AppError> {
        let title = self.title.as_deref().map(TaskTitle::parse).transpose();
        let description = self
            .description
            .as_ref()
            .map(|d| d.as_deref().map(TaskDescription::parse).transpose())
            .transpose();
        let mut fields = FieldErrors::default();
        let (title, description) = (fields.check(title), fields.check(description));
        fields.finish(|| {
            Some(ValidTaskPatch {
                title: title?,
                description: description?,
                completed: self.completed,
            })
        })
    }
}

/// The query of `GET /api/tasks`.
#[derive(Debug, Clone, Default, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::IntoParams))]
#[cfg_attr(feature = "ssr", into_params(parameter_in = Query))]
pub struct ListQuery {
    /// Only the tasks done (`true`) or not done (`false`).
    pub completed: Option<bool>,
    /// How many tasks at most (default 100).
    #[cfg_attr(feature = "ssr", param(minimum = 1, maximum = 500))]
    pub limit: Option<i64>,
    /// How many to skip first, newest first.
    #[cfg_attr(feature = "ssr", param(minimum = 0))]
    pub offset: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListFilter {
    pub completed: Option<bool>,
    pub limit: i64,
    pub offset: i64,
}

impl ListFilter {
    pub const DEFAULT_LIMIT: i64 = 100;
    pub const MAX_LIMIT: i64 = 500;
}

impl ListQuery {
    pub fn parse(&self) -> Result<ListFilter, AppError> {
        let mut errors = Vec::new();
        let limit = self.limit.unwrap_or(ListFilter::DEFAULT_LIMIT);
        if !(1..=ListFilter::MAX_LIMIT).contains(&limit) {
            errors.push(FieldError::query(
                "limit",
                format!("limit must be between 1 and {}", ListFilter::MAX_LIMIT),
            ));
        }
        let offset = self.offset.unwrap_or(0);
        if offset < 0 {
            errors.push(FieldError::query("offset", "offset must not be negative"));
        }
        if !errors.is_empty() {
            return Err(AppError::Validation(errors));
        }
        Ok(ListFilter {
            completed: self.completed,
            limit,
            offset,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn titles_are_trimmed_and_must_not_be_blank() {
        assert_eq!(
            TaskTitle::parse("  Buy milk ").unwrap().as_str(),
            "Buy milk"
        );
        assert!(TaskTitle::parse("   ").is_err());
    }

    #[test]
    fn titles_are_limited_to_200_characters_not_bytes() {
        assert!(TaskTitle::parse(&"ü".repeat(200)).is_ok());
        assert!(TaskTitle::parse(&"a".repeat(201)).is_err());
    }

    #[test]
    fn descriptions_are_limited_to_2000_characters() {
        assert!(TaskDescription::parse(&"d".repeat(2000)).is_ok());
        assert!(TaskDescription::parse(&"d".repeat(2001)).is_err());
    }

    #[test]
    fn a_new_task_reports_title_and_description_problems_together() {
        let new = NewTask {
            title: "".into(),
            description: Some("x".repeat(2001)),
            completed: None,
        };
        let AppError::Validation(errors) = new.parse().unwrap_err() else {
            panic!()
        };
        assert_eq!(
            errors.iter().map(FieldError::field).collect::<Vec<_>>(),
            ["title", "description"]
        );
    }

    #[test]
    fn a_patch_tells_null_description_from_absent() {
        let cleared: TaskPatch = serde_json::from_str(r#"{"description":null}"#).unwrap();
        let untouched: TaskPatch = serde_json::from_str(r#"{"completed":true}"#).unwrap();
        assert_eq!(cleared.description, Some(None));
        assert_eq!(untouched.description, None);
    }

    #[test]
    fn list_limits_are_bounded() {
        let parse = |limit, offset| {
            ListQuery {
                completed: None,
                limit,
                offset,
            }
            .parse()
        };
        assert_eq!(parse(None, None).unwrap().limit, 100);
        assert!(parse(Some(500), Some(0)).is_ok());
        assert!(parse(Some(501), None).is_err());
        assert!(parse(Some(0), None).is_err());
        assert!(parse(None, Some(-1)).is_err());
    }
}
