//! Tasks in the database. Every statement is scoped by the owner's id.

use crate::{
    clock::Timestamp,
    db::{self, Pool},
    tasks::types::{ListFilter, Task, ValidNewTask, ValidTaskPatch},
};
use sqlx::FromRow;

const COLUMNS: &str = "id, title, description, completed, created_at, updated_at";

/// Inserts a task for `owner` unless they already have `max_tasks`; `None` then. The
/// count and the insert are one statement, so concurrent inserts cannot both take the
/// last place on SQLite (PostgreSQL, at read committed, may let a few through at once).
pub async fn insert_task(
    pool: &Pool,
    owner: &str,
    new: &ValidNewTask,
    max_tasks: i64,
    now: Timestamp,
) -> Result<Option<Task>, sqlx::Error> {
    let now = now.to_string();
    let task = Task {
        id: db::new_id(),
        title: new.title.as_str().to_owned(),
        description: new.description.as_ref().map(|d| d.as_str().to_owned()),
        completed: new.completed,
        created_at: now.clone(),
        updated_at: now,
    };
    let inserted = sqlx::query(
        "insert into tasks (id, user_id, title, description, completed, created_at, updated_at) \
         select $1, $2, $3, $4, $5, $6, $7 \
         where (select count(*) from tasks where user_id = $2) < $8",
    )
    .bind(&task.id)
    .bind(owner)
    .bind(&task.title)
    .bind(&task.description)
    .bind(i64::from(task.completed))
    .bind(&task.created_at)
    .bind(&task.updated_at)
    .bind(max_tasks)
    .execute(pool)
    .await?;
    Ok((inserted.rows_affected() == 1).then_some(task))
}

pub async fn list_tasks(
    pool: &Pool,
    owner: &str,
    filter: &ListFilter,
) -> Result<Vec<Task>, sqlx::Error> {
    let rows = match filter.completed {
        None => {
            sqlx::query(&format!(
                "select {COLUMNS} from tasks where user_id = $1 \
                 order by created_at, id limit $2 offset $3"
            ))
            .bind(owner)
            .bind(filter.limit)
            .bind(filter.offset)
            .fetch_all(pool)
            .await?
        }
        Some(completed) => {
            sqlx::query(&format!(
                "select {COLUMNS} from tasks where user_id = $1 and completed = $2 \
                 order by created_at, id limit $3 offset $4"
            ))
            .bind(owner)
            .bind(i64::from(completed))
            .bind(filter.limit)
            .bind(filter.offset)
            .fetch_all(pool)
            .await?
        }
    };
    rows.iter().map(Task::from_row).collect()
}

pub async fn find_task(pool: &Pool, owner: &str, id: &str) -> Result<Option<Task>, sqlx::Error> {
    let row = sqlx::query(&format!(
        "select {COLUMNS} from tasks where id = $1 and user_id = $2"
    ))
    .bind(id)
    .bind(owner)
    .fetch_optional(pool)
    .await?;
    row.as_ref().map(Task::from_row).transpose()
}

/// Applies a partial update; `None` when the owner has no such task.
pub async fn update_task(
    pool: &Pool,
    owner: &str,
    id: &str,
    patch: &ValidTaskPatch,
    now: Timestamp,
) -> Result<Option<Task>, sqlx::Error> {
    let description = patch.description.as_ref();
    let row = sqlx::query(&format!(
        "update tasks set \
         title = coalesce($1, title), \
         description = case when $2 = 1 then $3 else description end, \
         completed = coalesce($4, completed), \
         updated_at = $5 \
         where id = $6 and user_id = $7 \
         returning {COLUMNS}"
    ))
    .bind(patch.title.as_ref().map(|t| t.as_str().to_owned()))
    .bind(i64::from(description.is_some()))
    .bind(description.and_then(|d| d.as_ref().map(|d| d.as_str().to_owned())))
    .bind(patch.completed.map(i64::from))
    .bind(now)
    .bind(id)
    .bind(owner)
    .fetch_optional(pool)
    .await?;
    row.as_ref().map(Task::from_row).transpose()
}

/// Deletes a task; `false` when the owner has no such task.
pub async fn delete_task(pool: &Pool, owner: &str, id: &str) -> Result<bool, sqlx::Error> {
    let result = sqlx::query("delete from tasks where id = $1 and user_id = $2")
        .bind(id)
        .bind(owner)
        .execute(pool)
        .await?;
    Ok(result.rows_affected() > 0)
}
