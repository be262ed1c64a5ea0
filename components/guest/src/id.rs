//! Identifiers: a short type prefix and a ULID, so ids sort by creation time.

use std::sync::Mutex;

/// Ids made in one process (one component instance) increase even within a millisecond.
static GENERATOR: Mutex<ulid::Generator> = Mutex::new(ulid::Generator::new());

/// A new id such as `tpl_01JDZ8Q3T5KX7Y2M4N6P8R0S9V`. Ids of one instance sort in the order
/// they were made; across instances, by the millisecond they were made in.
pub fn new_id(prefix: &str) -> String {
    let ulid = GENERATOR
        .lock()
        .ok()
        .and_then(|mut generator| generator.generate().ok())
        // A poisoned lock or 2^80 ids in one millisecond: a random one still sorts by time.
        .unwrap_or_else(ulid::Ulid::new);
    format!("{prefix}_{ulid}")
}

/// Whether `id` has the shape of an id made by [`new_id`] with `prefix`.
pub fn is_id(prefix: &str, id: &str) -> bool {
    id.strip_prefix(prefix)
        .and_then(|rest| rest.strip_prefix('_'))
        .is_some_and(|ulid| ulid.len() == 26 && ulid::Ulid::from_string(ulid).is_ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_carry_their_prefix_and_sort_by_creation() {
        let first = new_id("job");
        std::thread::sleep(std::time::Duration::from_millis(2));
        let second = new_id("job");
        assert!(is_id("job", &first), "{first}");
        assert!(!is_id("img", &first), "{first}");
        assert!(first < second, "{first} then {second}");
        assert_eq!(first.len(), "job_".len() + 26);
    }

    #[test]
    fn ids_made_within_one_millisecond_still_increase() {
        let ids: Vec<String> = (0..1000).map(|_| new_id("img")).collect();
        let mut sorted = ids.clone();
        sorted.sort();
        sorted.dedup();
        assert_eq!(sorted, ids);
    }

    #[test]
    fn malformed_ids_are_recognised() {
        assert!(!is_id("job", "job_"));
        assert!(!is_id("job", "job_not-a-ulid-at-all-000000"));
        assert!(!is_id("job", "jobs_01JDZ8Q3T5KX7Y2M4N6P8R0S9V"));
    }
}
