//! Template ids: `tpl_<ulid>`, strictly increasing in the order templates are created, so
//! that ordering by id is creation order even within one millisecond.

use ulid::Ulid;

/// The id prefix of templates.
pub const PREFIX: &str = "tpl";

/// A new id made at `now_ms`, greater than `newest` (the greatest id in use, if any).
pub fn next_id(now_ms: u64, newest: Option<&str>) -> String {
    let fresh = Ulid::from_parts(now_ms, Ulid::new().random());
    let newest = newest
        .and_then(|id| id.strip_prefix("tpl_"))
        .and_then(|ulid| Ulid::from_string(ulid).ok());
    let id = match newest {
        // Same millisecond (or a clock behind another instance's): count up from the newest.
        Some(newest) if fresh <= newest => newest.increment().unwrap_or(fresh),
        _ => fresh,
    };
    format!("{PREFIX}_{id}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_carry_the_time_and_prefix() {
        let id = next_id(1_700_000_000_000, None);
        assert!(promptmesh_guest::id::is_id("tpl", &id), "{id}");
        let ulid = Ulid::from_string(&id[4..]).expect("a ULID");
        assert_eq!(ulid.timestamp_ms(), 1_700_000_000_000);
    }

    #[test]
    fn ids_made_in_the_same_millisecond_follow_the_newest() {
        let first = next_id(1_000, None);
        let second = next_id(1_000, Some(&first));
        assert!(first < second, "{first} then {second}");
        // A clock behind the newest id counts up from it.
        let third = next_id(999, Some(&second));
        let second_ulid = Ulid::from_string(&second[4..]).expect("a ULID");
        assert_eq!(
            third,
            format!("tpl_{}", second_ulid.increment().expect("room"))
        );
    }

    #[test]
    fn a_later_millisecond_starts_afresh() {
        let first = next_id(1_000, None);
        let second = next_id(2_000, Some(&first));
        let ulid = Ulid::from_string(&second[4..]).expect("a ULID");
        assert_eq!(ulid.timestamp_ms(), 2_000);
    }
}
