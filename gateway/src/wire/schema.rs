//! OpenAPI schemas of the field rules in [`super::validate`] (and the engine's), for
//! `#[schema(schema_with = ...)]`: the spec says exactly what the server takes. Lengths are
//! in characters (Unicode scalar values), as JSON Schema counts them.

use utoipa::openapi::schema::{
    AdditionalProperties, Array, ArrayBuilder, ObjectBuilder, OneOfBuilder, SchemaType, Type,
};
use utoipa::openapi::{Object, Schema};

/// Control characters (Rust's `char::is_control`: U+0000..=U+001F, U+007F..=U+009F).
const CONTROL: &str = r"\u0000-\u001f\u007f-\u009f";

fn no_control() -> String {
    format!("^[^{CONTROL}]*$")
}

/// No control characters, and at least one that is not white space.
fn not_blank() -> String {
    format!("^[^{CONTROL}]*[^\\s{CONTROL}][^{CONTROL}]*$")
}

fn string(min: usize, max: usize, pattern: Option<String>, description: &str) -> ObjectBuilder {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .min_length(Some(min))
        .max_length(Some(max))
        .pattern(pattern)
        .description(Some(description))
}

fn or_null(b: ObjectBuilder) -> Object {
    b.schema_type(SchemaType::from_iter([Type::String, Type::Null]))
        .build()
}

fn name_rule() -> ObjectBuilder {
    string(
        1,
        64,
        Some(not_blank()),
        "1..=64 characters (trimmed), not blank, no control characters",
    )
}

pub fn name() -> Object {
    name_rule().build()
}

/// A name that may be `null` (absent, default, or clear).
pub fn name_or_null() -> Object {
    or_null(name_rule())
}

pub fn username() -> Object {
    string(
        3,
        32,
        Some("^[A-Za-z0-9_.]{3,32}$".into()),
        "3..=32 of a-z 0-9 _ . (any case; stored lower-case)",
    )
    .build()
}

pub fn password() -> Object {
    string(8, 128, None, "8..=128 characters").build()
}

pub fn phone_or_null() -> Object {
    or_null(string(
        3,
        16,
        Some(r"^\+[1-9][0-9]{1,14}$".into()),
        "E.164: + then 2..=15 digits, the first not 0",
    ))
}

pub fn about() -> Object {
    string(
        0,
        140,
        Some(no_control()),
        "0..=140 characters, no control characters",
    )
    .build()
}

pub fn photo_or_null() -> Object {
    or_null(string(
        1,
        128,
        Some("^[A-Za-z0-9_.-]{1,128}$".into()),
        "A media reference (e.g. an upload's id); null clears it",
    ))
}

pub fn client_id() -> Object {
    string(
        1,
        64,
        Some("^[A-Za-z0-9_.-]{1,64}$".into()),
        "Idempotency key: 1..=64 of A-Z a-z 0-9 - _ .",
    )
    .build()
}

pub fn emoji() -> Object {
    string(
        1,
        8,
        Some(r"^[^\u0000-\u009f\s]{1,8}$".into()),
        "One emoji: 1..=8 code points, no ASCII, spaces or control characters",
    )
    .build()
}

pub fn reason() -> Object {
    string(
        1,
        1000,
        Some(not_blank()),
        "1..=1000 characters (trimmed), not blank",
    )
    .build()
}

pub fn description_or_null() -> Object {
    or_null(string(
        0,
        confab_engine::chat::group::MAX_DESCRIPTION_CHARS,
        None,
        "0..=512 characters",
    ))
}

fn text(max: usize) -> ObjectBuilder {
    string(1, max, Some(r"\S".into()), "Not only spaces")
}

fn caption() -> Object {
    or_null(string(
        0,
        confab_engine::content::MAX_CAPTION_CHARS,
        None,
        "At most 1024 characters (trimmed; empty means none)",
    ))
}

pub fn status_text() -> Object {
    text(confab_engine::status::MAX_TEXT_CHARS).build()
}

pub fn status_caption() -> Object {
    caption()
}

pub fn colour() -> Object {
    string(
        7,
        7,
        Some("^#[0-9A-Fa-f]{6}$".into()),
        "#RRGGBB (comes back upper-case)",
    )
    .build()
}

fn kind(name: &str) -> ObjectBuilder {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .enum_values(Some([name]))
}

fn uuid() -> ObjectBuilder {
    ObjectBuilder::new().schema_type(Type::String).format(Some(
        utoipa::openapi::SchemaFormat::KnownFormat(utoipa::openapi::KnownFormat::Uuid),
    ))
}

fn text_content() -> Object {
    ObjectBuilder::new()
        .property("kind", kind("text"))
        .required("kind")
        .property("text", text(confab_engine::content::MAX_TEXT_CHARS))
        .required("text")
        .additional_properties(Some(AdditionalProperties::FreeForm(false)))
        .build()
}

fn media_content(kinds: &[&str], with_caption: bool) -> Object {
    let kind = ObjectBuilder::new()
        .schema_type(Type::String)
        .enum_values(Some(kinds.iter().copied()));
    let mut b = ObjectBuilder::new()
        .property("kind", kind)
        .required("kind")
        .property("media_id", uuid())
        .required("media_id")
        .additional_properties(Some(AdditionalProperties::FreeForm(false)));
    if with_caption {
        b = b.property("caption", caption());
    }
    b.build()
}

fn one_of(items: impl IntoIterator<Item = Object>, description: &str) -> Schema {
    Schema::OneOf(
        items
            .into_iter()
            .fold(OneOfBuilder::new(), |b, o| b.item(Schema::Object(o)))
            .description(Some(description))
            .build(),
    )
}

/// A message's content: text, a media message naming an upload, or a sticker.
pub fn message_content() -> Schema {
    one_of(
        [
            text_content(),
            media_content(&["image", "video", "audio", "voice", "document"], true),
            media_content(&["sticker"], false),
        ],
        "`{kind: text, text}` (1..=4096 characters, not only spaces); \
         `{kind: image|video|audio|voice|document, media_id, caption?}`; \
         `{kind: sticker, media_id}`. The upload must exist (404), be readable by the sender \
         (403) and be of that kind (400)",
    )
}

/// What an edit may set: new text.
pub fn edit_content() -> Object {
    text_content()
}

fn one_of_strings(values: &[&str], description: &str) -> Object {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .enum_values(Some(values.iter().copied()))
        .description(Some(description))
        .build()
}

pub fn file_name() -> Object {
    string(
        0,
        255,
        Some(no_control()),
        "At most 255 bytes, no control characters",
    )
    .build()
}

pub fn gallery_class() -> Object {
    one_of_strings(&["media", "documents", "links"], "Default `media`")
}

/// An object with exactly these properties (`additionalProperties: false`).
fn closed(properties: Vec<(&str, Schema)>, required: &[&str]) -> Object {
    let b = properties.into_iter().fold(
        ObjectBuilder::new().schema_type(Type::Object),
        |b, (k, v)| b.property(k, v),
    );
    required
        .iter()
        .fold(b, |b, r| b.required(*r))
        .additional_properties(Some(AdditionalProperties::FreeForm(false)))
        .build()
}

fn null() -> Object {
    ObjectBuilder::new().schema_type(Type::Null).build()
}

fn login_by(account: &str, other: &str) -> Object {
    let account_schema = string(0, 64, None, "At most 64 characters").build();
    closed(
        vec![
            (account, account_schema.into()),
            (other, null().into()),
            (
                "password",
                string(0, 1024, None, "At most 1024 characters")
                    .build()
                    .into(),
            ),
            ("device_name", name_or_null().into()),
        ],
        &[account, "password"],
    )
}

/// `POST /api/auth/login`: exactly one of `username` and `phone` (the other absent or null).
pub fn login() -> Schema {
    one_of(
        [login_by("username", "phone"), login_by("phone", "username")],
        "Log in with exactly one of `username` or `phone` (at most 64 characters; the other \
         absent or null) and the password",
    )
}

fn uuids(min: usize, max: usize) -> Array {
    ArrayBuilder::new()
        .min_items(Some(min))
        .max_items(Some(max))
        .items(uuid())
        .build()
}

/// `POST /api/notifications/read`: `ids` (1..=500) or `"all": true`.
pub fn mark_read() -> Schema {
    let flag = |value: serde_json::Value| {
        ObjectBuilder::new()
            .schema_type(SchemaType::from_iter([Type::Boolean, Type::Null]))
            .enum_values(Some([value, serde_json::Value::Null]))
            .build()
    };
    let all = ObjectBuilder::new()
        .schema_type(Type::Boolean)
        .enum_values(Some([true]))
        .build();
    one_of(
        [
            closed(
                vec![
                    ("ids", uuids(1, 500).into()),
                    ("all", flag(false.into()).into()),
                ],
                &["ids"],
            ),
            closed(vec![("all", all.into()), ("ids", null().into())], &["all"]),
        ],
        "`{\"ids\": [1..=500 notification ids]}` or `{\"all\": true}`",
    )
}

fn audience(rule: &str, min_users: usize, max_users: usize, required: &[&str]) -> Object {
    closed(
        vec![
            ("audience", kind(rule).build().into()),
            ("users", uuids(min_users, max_users).into()),
        ],
        required,
    )
}

/// `StatusPrivacy`: a rule and the list it takes.
pub fn status_privacy() -> Schema {
    const MAX: usize = confab_engine::status::MAX_LIST_USERS;
    one_of(
        [
            audience("my_contacts", 0, 0, &["audience"]),
            audience("my_contacts_except", 0, MAX, &["audience"]),
            audience("only_share_with", 1, MAX, &["audience", "users"]),
        ],
        "`my_contacts` (everyone in my contacts; `users` empty or absent), \
         `my_contacts_except` (my contacts but `users`) or `only_share_with` (only `users`, at \
         least one); at most 1024 users, each an existing user other than me (else 400)",
    )
}

/// `impl ToSchema for $ty` with the hand-written schema `$f()` (rules between fields that the
/// derive cannot say).
macro_rules! schema_from {
    ($ty:ty => $f:path) => {
        impl utoipa::PartialSchema for $ty {
            fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::Schema> {
                $f().into()
            }
        }
        impl utoipa::ToSchema for $ty {}
    };
}
pub(crate) use schema_from;

fn seq() -> Object {
    ObjectBuilder::new()
        .schema_type(Type::Integer)
        .format(Some(utoipa::openapi::SchemaFormat::KnownFormat(
            utoipa::openapi::KnownFormat::Int64,
        )))
        .minimum(Some(0))
        .build()
}

fn report_variant(message: bool) -> Object {
    let (chat_id, seq): (Schema, Schema) = if message {
        (uuid().build().into(), seq().into())
    } else {
        (null().into(), null().into())
    };
    let required: &[&str] = if message {
        &["user_id", "reason", "chat_id", "seq"]
    } else {
        &["user_id", "reason"]
    };
    closed(
        vec![
            ("user_id", uuid().build().into()),
            ("reason", reason().into()),
            ("chat_id", chat_id),
            ("seq", seq),
        ],
        required,
    )
}

/// `POST /api/reports`: a user, or (`chat_id` and `seq` together) a message of theirs.
pub fn report() -> Schema {
    one_of(
        [report_variant(false), report_variant(true)],
        "Report a user, or one of their messages with both `chat_id` and `seq` (give both or \
         neither): its chat's last 20 events are attached",
    )
}
