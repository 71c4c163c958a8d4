//! The words of a notification: title and body for each kind, in one place.

use serde::Deserialize;

/// At most this many characters of a message's text go into a notification.
const PREVIEW_CHARS: usize = 100;

/// What a chat is called in a notification: the group's title, or the other person's name.
pub(super) struct Place<'a> {
    pub group: Option<&'a str>,
    pub actor: &'a str,
}

impl Place<'_> {
    fn title(&self) -> String {
        self.group.unwrap_or(self.actor).to_owned()
    }

    /// "in Family" / "from Alice".
    fn burst_origin(&self) -> String {
        match self.group {
            Some(g) => format!("in {g}"),
            None => format!("from {}", self.actor),
        }
    }
}

pub(super) fn messages(place: &Place, count: u32, preview: &str) -> (String, String) {
    let body = match (count, place.group) {
        (1, Some(_)) => format!("{}: {preview}", place.actor),
        (1, None) => preview.to_owned(),
        (n, _) => format!("{n} new messages {}", place.burst_origin()),
    };
    (place.title(), body)
}

pub(super) fn reactions(place: &Place, count: u32, emoji: &str) -> (String, String) {
    let body = match count {
        1 => format!("{} reacted {emoji} to your message", place.actor),
        n => format!("{n} new reactions {}", place.burst_origin()),
    };
    (place.title(), body)
}

pub(super) fn group_added(place: &Place) -> (String, String) {
    (place.title(), format!("{} added you", place.actor))
}

pub(super) fn group_admin(place: &Place) -> (String, String) {
    (place.title(), "You are now an admin".to_owned())
}

pub(super) fn call(place: &Place, video: bool, missed: bool) -> (String, String) {
    let what = if video { "video call" } else { "voice call" };
    let body = match (missed, place.group) {
        (false, None) => format!("Incoming {what}"),
        (false, Some(_)) => format!("{} started a {what}", place.actor),
        (true, None) => format!("Missed {what}"),
        (true, Some(_)) => format!("Missed {what} from {}", place.actor),
    };
    (place.title(), body)
}

#[derive(Deserialize)]
struct BodyPreview {
    kind: String,
    #[serde(default)]
    text: Option<String>,
    #[serde(default)]
    caption: Option<String>,
}

/// A short preview of a stored message body: its text, else what kind of message it is.
pub(super) fn preview(body: &str) -> String {
    let Ok(b) = serde_json::from_str::<BodyPreview>(body) else {
        return "New message".into();
    };
    let label = match b.kind.as_str() {
        "text" => None,
        "image" => Some("📷 Photo"),
        "video" => Some("🎥 Video"),
        "voice" => Some("🎤 Voice message"),
        "audio" => Some("🎵 Audio"),
        "document" => Some("📄 Document"),
        "sticker" => Some("Sticker"),
        _ => Some("New message"),
    };
    let text = b.text.or(b.caption).unwrap_or_default();
    let text = match text.char_indices().nth(PREVIEW_CHARS) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text,
    };
    match (label, text.is_empty()) {
        (None, _) => text,
        (Some(l), true) => l.to_owned(),
        (Some(l), false) => format!("{l} {text}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bursts_read_naturally() {
        let group = Place {
            group: Some("Family"),
            actor: "Alice",
        };
        let direct = Place {
            group: None,
            actor: "Alice",
        };
        assert_eq!(messages(&group, 5, "x").1, "5 new messages in Family");
        assert_eq!(messages(&group, 1, "hi").1, "Alice: hi");
        assert_eq!(messages(&direct, 2, "x").1, "2 new messages from Alice");
        assert_eq!(messages(&direct, 1, "hi"), ("Alice".into(), "hi".into()));
        assert_eq!(call(&direct, true, true).1, "Missed video call");
    }

    #[test]
    fn previews() {
        assert_eq!(preview(r#"{"kind":"text","text":"hello"}"#), "hello");
        assert_eq!(
            preview(r#"{"kind":"image","caption":"beach"}"#),
            "📷 Photo beach"
        );
        assert_eq!(preview(r#"{"kind":"voice"}"#), "🎤 Voice message");
        assert_eq!(preview("not json"), "New message");
        let long = format!(r#"{{"kind":"text","text":"{}"}}"#, "é".repeat(150));
        assert_eq!(preview(&long).chars().count(), PREVIEW_CHARS + 1);
    }
}
