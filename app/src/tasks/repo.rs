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

/// A page of `owner`'s tasks, oldest first. The database builds the page as one JSON
/// array, so it comes back as one row: sqlx's SQLite driver sends each row from the
/// connection's thread as a message of its own, and at twenty rows those hand-offs were
/// most of the list's time (docs/performance.md). The page itself (filter, order, limit) is
/// one statement on both backends; only the JSON functions around it differ.
pub async fn list_tasks(
    pool: &Pool,
    owner: &str,
    filter: &ListFilter,
) -> Result<Vec<Task>, sqlx::Error> {
    let only_completed = if filter.completed.is_some() {
        "and completed = $4"
    } else {
        ""
    };
    let page = format!(
        "select {COLUMNS} from tasks where user_id = $1 {only_completed} \
         order by {ORDER} limit $2 offset $3"
    );
    let mut conn = pool.acquire().await?;
    let sql = as_json_array(conn.backend_name(), &page);
    let mut query = sqlx::query_scalar::<_, String>(&sql)
        .bind(owner)
        .bind(filter.limit)
        .bind(filter.offset);
    if let Some(completed) = filter.completed {
        query = query.bind(i64::from(completed));
    }
    let array = query.fetch_one(&mut *conn).await?;
    serde_json::from_str(&array).map_err(|e| sqlx::Error::Decode(Box::new(e)))
}

/// The list's order: by creation, ties broken by id.
const ORDER: &str = "created_at, id";

/// `page` (a select of `COLUMNS`) as one JSON text: an array of tasks in `ORDER`,
/// `completed` as a boolean, `[]` when the page is empty.
fn as_json_array(backend: &str, page: &str) -> String {
    const TEXTS: &str = "'id', id, 'title', title, 'description', description, \
                         'created_at', created_at, 'updated_at', updated_at";
    if backend == "PostgreSQL" {
        format!(
            "select coalesce(json_agg(json_build_object({TEXTS}, \
             'completed', completed <> 0) order by {ORDER}), '[]')::text \
             from ({page}) as page"
        )
    } else {
        format!(
            "select json_group_array(json_object({TEXTS}, \
             'completed', json(case when completed <> 0 then 'true' else 'false' end)) \
             order by {ORDER}) from ({page}) as page"
        )
    }
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
