//! The arm a user falls in, from a hash of the template and the user alone, so that it is
//! the same on every instance and every call (unlike std's randomly seeded hasher).

use sha2::{Digest, Sha256};

use crate::model::Arm;

/// The arm of `arms` that `user` falls in for template `template_id`, by weight: the hash
/// picks a point in `0..total weight` and the arm whose share of that range covers it wins.
/// `None` only when `arms` is empty or every weight is zero.
pub fn pick(arms: &[Arm], template_id: &str, user: &str) -> Option<Arm> {
    let total: u64 = arms.iter().map(|a| u64::from(a.weight)).sum();
    if total == 0 {
        return None;
    }
    // Multiply-shift maps the 64-bit hash onto `0..total` without modulo's skew to low values.
    let point = ((u128::from(hash(template_id, user)) * u128::from(total)) >> 64) as u64;
    let mut end = 0;
    arms.iter().copied().find(|arm| {
        end += u64::from(arm.weight);
        point < end
    })
}

/// The first 8 bytes of SHA-256 over the template id's length, the id and the user: the
/// length keeps `("ab", "c")` and `("a", "bc")` apart.
fn hash(template_id: &str, user: &str) -> u64 {
    let digest = Sha256::new()
        .chain_update((template_id.len() as u64).to_be_bytes())
        .chain_update(template_id.as_bytes())
        .chain_update(user.as_bytes())
        .finalize();
    let mut first = [0u8; 8];
    first.copy_from_slice(&digest[..8]);
    u64::from_be_bytes(first)
}

#[cfg(test)]
mod tests {
    use super::*;

    const ONE_TO_THREE: [Arm; 2] = [
        Arm {
            version: 1,
            weight: 1,
        },
        Arm {
            version: 2,
            weight: 3,
        },
    ];

    fn split(arms: &[Arm], template_id: &str, users: usize) -> Vec<usize> {
        let mut counts = vec![0; arms.len()];
        for i in 0..users {
            let arm = pick(arms, template_id, &format!("user-{i}")).expect("weighted arms");
            let index = arms
                .iter()
                .position(|a| *a == arm)
                .expect("one of the arms");
            counts[index] += 1;
        }
        counts
    }

    #[test]
    fn the_same_user_always_falls_in_the_same_arm() {
        let first = pick(&ONE_TO_THREE, "tpl_x", "key_alice");
        for _ in 0..10 {
            assert_eq!(pick(&ONE_TO_THREE, "tpl_x", "key_alice"), first);
        }
    }

    #[test]
    fn a_thousand_users_split_one_to_three_by_weight() {
        let counts = split(&ONE_TO_THREE, "tpl_x", 1000);
        // The hash is fixed, so the counts are too (250 : 750 expected). Checked in Python:
        // h = int.from_bytes(sha256(pack('>Q', 5) + b'tpl_x' + user).digest()[:8], 'big')
        // puts 237 of user-0 ... user-999 at (h * 4) >> 64 == 0.
        assert_eq!(counts, vec![237, 763]);
        assert!((200..=300).contains(&counts[0]), "{counts:?}");
    }

    #[test]
    fn the_template_is_part_of_the_hash() {
        let even = [
            ONE_TO_THREE[0],
            Arm {
                version: 2,
                weight: 1,
            },
        ];
        let differs = (0..100).any(|i| {
            let user = format!("user-{i}");
            pick(&even, "tpl_a", &user) != pick(&even, "tpl_b", &user)
        });
        assert!(differs, "two templates put 100 users in the same arms");
        assert_ne!(hash("ab", "c"), hash("a", "bc"));
    }

    #[test]
    fn no_arms_or_no_weight_picks_nothing() {
        assert_eq!(pick(&[], "tpl_x", "u"), None);
        let unweighted = [Arm {
            version: 1,
            weight: 0,
        }];
        assert_eq!(pick(&unweighted, "tpl_x", "u"), None);
    }
}
