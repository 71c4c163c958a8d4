//! Who may see what of a user: the one place the privacy rules live, so REST, WebSocket events
//! and presence all answer the same way.

use confab_storage::{PrivacySettings, Store, StoreResult, User, Visibility};
use uuid::Uuid;

/// Whether a block stands between two users, either way. Across a block nothing of the other
/// reaches either of them in a 1:1 chat: no message, typing, receipt, presence or call.
pub async fn blocked_either_way(store: &dyn Store, a: Uuid, b: Uuid) -> StoreResult<bool> {
    Ok(store.is_blocked(a, b).await? || store.is_blocked(b, a).await?)
}

/// How the viewer stands with the owner of the information.
#[derive(Debug, Clone, Copy, Default)]
pub struct Relation {
    /// The viewer is the owner.
    pub is_self: bool,
    /// The owner has the viewer in *their* contacts (what "my contacts" means to the owner).
    pub in_owners_contacts: bool,
    /// The owner has blocked the viewer: they see nothing private, whatever the settings.
    pub blocked_by_owner: bool,
}

/// Whether a viewer with `relation` may see something the owner set to `visibility`.
pub fn may_see(visibility: Visibility, relation: Relation) -> bool {
    if relation.is_self {
        return true;
    }
    if relation.blocked_by_owner {
        return false;
    }
    match visibility {
        Visibility::Everyone => true,
        Visibility::Contacts => relation.in_owners_contacts,
        Visibility::Nobody => false,
    }
}

/// The parts of a profile a given viewer may see. Identity (id, username, display name) is
/// always visible: it is how people find and recognise each other.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VisibleProfile {
    pub about: Option<String>,
    pub photo: Option<String>,
}

pub fn visible_profile(
    owner: &User,
    privacy: &PrivacySettings,
    relation: Relation,
) -> VisibleProfile {
    VisibleProfile {
        about: may_see(privacy.about, relation).then(|| owner.about.clone()),
        photo: if may_see(privacy.profile_photo, relation) {
            owner.photo.clone()
        } else {
            None
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const STRANGER: Relation = Relation {
        is_self: false,
        in_owners_contacts: false,
        blocked_by_owner: false,
    };
    const CONTACT: Relation = Relation {
        is_self: false,
        in_owners_contacts: true,
        blocked_by_owner: false,
    };
    const OWNER: Relation = Relation {
        is_self: true,
        in_owners_contacts: false,
        blocked_by_owner: false,
    };
    const BLOCKED_CONTACT: Relation = Relation {
        is_self: false,
        in_owners_contacts: true,
        blocked_by_owner: true,
    };

    #[test]
    fn everyone_contacts_nobody() {
        use Visibility::*;
        let table = [
            (Everyone, STRANGER, true),
            (Everyone, CONTACT, true),
            (Contacts, STRANGER, false),
            (Contacts, CONTACT, true),
            (Nobody, CONTACT, false),
            (Nobody, OWNER, true),
            (Everyone, BLOCKED_CONTACT, false),
            (Contacts, BLOCKED_CONTACT, false),
        ];
        for (visibility, relation, expected) in table {
            assert_eq!(
                may_see(visibility, relation),
                expected,
                "{visibility:?} {relation:?}"
            );
        }
    }

    #[test]
    fn profile_hides_each_field_by_its_own_setting() {
        let owner = User {
            id: uuid::Uuid::nil(),
            username: "ana".into(),
            phone: None,
            display_name: "Ana".into(),
            about: "busy".into(),
            photo: Some("p".into()),
            created_at: 0,
            disabled: false,
            server_admin: false,
        };
        let privacy = PrivacySettings {
            about: Visibility::Nobody,
            profile_photo: Visibility::Contacts,
            ..Default::default()
        };
        let seen = visible_profile(&owner, &privacy, CONTACT);
        assert_eq!(
            seen,
            VisibleProfile {
                about: None,
                photo: Some("p".into())
            }
        );
        let seen = visible_profile(&owner, &privacy, STRANGER);
        assert_eq!(
            seen,
            VisibleProfile {
                about: None,
                photo: None
            }
        );
    }
}
