/// A holder's notice is stored as its kind and parameters (JSON), and rendered in the reader's language when read;
/// it used to be stored as ready-made Chinese text. Older notices cannot be taken apart again: their text is kept as
/// the parameter `text` and shown as it was written.
let m023NotificationsAsKindAndParameters = Migration("023_notifications_as_kind_and_parameters", [
    "ALTER TABLE notifications ADD COLUMN parameters TEXT NOT NULL DEFAULT '{}'",
    Dialect.sqliteOnly + "UPDATE notifications SET parameters = json_object('text', message)",
    Dialect.postgresOnly + "UPDATE notifications SET parameters = json_build_object('text', message)::text",
    "ALTER TABLE notifications DROP COLUMN message",
])
