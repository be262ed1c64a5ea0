//! Reference values come from mpmath at 40 digits (`mp.dps = 40`), independently of statrs:
//!
//! ```text
//! sf(t, v)  = betainc(v/2, 1/2, 0, v/(v+t²), regularized=True) / 2   # P(T > t)
//! q975(v)   = findroot(lambda t: sf(t, v) - 0.025, 2)
//! summary   : m = Σx/n, s² = Σ(x-m)²/(n-1), m ± q975(n-1)·√(s²/n)
//! welch(a,c): sa = s²a/na, sc = s²c/nc, v = (sa+sc)² / (sa²/(na-1) + sc²/(nc-1)),
//!             d = ma-mc, t = d/√(sa+sc), p = 2·sf(|t|, v), d ± q975(v)·√(sa+sc)
//! ```
//!
//! The assertions pin statrs' results exactly and check each against its reference (the
//! mpmath value rounded to the nearest f64) to a relative 1e-12.

use std::f64::consts::FRAC_1_SQRT_2;

use super::*;

/// `actual` agrees with the mpmath reference `expected` to a relative 1e-12.
fn assert_near(actual: Option<f64>, expected: f64) {
    let actual = actual.expect("a value");
    let error = ((actual - expected) / expected).abs();
    assert!(
        error < 1e-12,
        "{actual} is not {expected} (relative error {error:e})"
    );
}

fn assert_near_all(c: &Comparison, p: f64, low: f64, high: f64) {
    assert_near(c.p_value, p);
    assert_near(c.ci_low, low);
    assert_near(c.ci_high, high);
}

#[test]
fn no_scores_summarise_to_zeros_without_an_interval() {
    let none = ScoreSummary {
        count: 0,
        mean: 0.0,
        std_dev: 0.0,
        ci_low: None,
        ci_high: None,
    };
    assert_eq!(summary(Moments::of(&[])), none);
}

#[test]
fn one_score_has_no_spread_and_no_interval() {
    assert_eq!(
        summary(Moments::of(&[5])),
        ScoreSummary {
            count: 1,
            mean: 5.0,
            std_dev: 0.0,
            ci_low: None,
            ci_high: None,
        }
    );
}

#[test]
fn two_scores_use_t_with_one_degree_of_freedom() {
    // t(0.975, 1) = tan(0.475π) = 12.70620473617470464...; statrs 0.18 is 1.5e-14 below it.
    let t = t_quantile(1.0).expect("a quantile");
    assert_eq!(t, 12.70620473617469);
    assert_near(Some(t), 12.706204736174705);
    // s = √0.5 and s/√2 = 0.5, so the interval is 4.5 ± t/2.
    let s = summary(Moments::of(&[4, 5]));
    assert_eq!(
        s,
        ScoreSummary {
            count: 2,
            mean: 4.5,
            // √0.5 = 0.7071067811865476
            std_dev: FRAC_1_SQRT_2,
            ci_low: Some(4.5 - t * 0.5),
            ci_high: Some(4.5 + t * 0.5),
        }
    );
    assert_eq!(
        (s.ci_low, s.ci_high),
        (Some(-1.8531023680873453), Some(10.853102368087345))
    );
    assert_near(s.ci_low, -1.8531023680873524);
    assert_near(s.ci_high, 10.853102368087352);
}

#[test]
fn five_scores_use_t_with_four_degrees_of_freedom() {
    let s = summary(Moments::of(&[2, 3, 3, 4, 5]));
    assert_eq!(
        s,
        ScoreSummary {
            count: 5,
            mean: 3.4,
            std_dev: 1.140175425099138,
            ci_low: Some(1.9842852230177268),
            ci_high: Some(4.815714776982273),
        }
    );
    assert_near(s.ci_low, 1.9842852230177275);
    assert_near(s.ci_high, 4.815714776982272);
}

#[test]
fn equal_scores_have_a_zero_width_interval() {
    let s = summary(Moments::of(&[3, 3, 3]));
    assert_eq!((s.mean, s.std_dev), (3.0, 0.0));
    assert_eq!((s.ci_low, s.ci_high), (Some(3.0), Some(3.0)));
}

#[test]
fn welch_compares_two_varying_samples() {
    // Means 31/7 and 21/6, variances 13/21 and 11/10; v = 9.2027248710553806.
    let arm = Moments::of(&[5, 4, 5, 4, 5, 3, 5]);
    let control = Moments::of(&[3, 4, 2, 5, 3, 4]);
    let c = compare(2, 1, arm, control);
    assert_eq!(
        c,
        Comparison {
            version: 2,
            control_version: 1,
            difference: 0.9285714285714288,
            ci_low: Some(-0.24677550056293818),
            ci_high: Some(2.103918357705796),
            p_value: Some(0.10783127401877095),
            significant: false,
        }
    );
    assert_near(Some(c.difference), 0.9285714285714286);
    assert_near_all(
        &c,
        0.1078312740187731,
        -0.24677550056294548,
        2.1039183577058025,
    );
}

#[test]
fn welch_with_a_constant_control_uses_the_other_side_alone() {
    // The control's variance is 0, so v = na - 1 = 3 and t = 1.5/√(1/12) = 5.196.
    let c = compare(2, 1, Moments::of(&[4, 5, 4, 5]), Moments::of(&[3, 3, 3]));
    assert_eq!(c.difference, 1.5);
    assert_eq!(c.p_value, Some(0.013846832988859028));
    assert_eq!(
        (c.ci_low, c.ci_high),
        (Some(0.5813068844814616), Some(2.4186931155185385))
    );
    assert!(c.significant);
    assert_near_all(
        &c,
        0.013846832988859048,
        0.5813068844814602,
        2.41869311551854,
    );
}

#[test]
fn welch_where_t_is_one() {
    // d = 7/12 and its standard error is 7/12 too; v = 4.8900203665987780.
    let c = compare(2, 1, Moments::of(&[4, 4, 5]), Moments::of(&[3, 4, 3, 5]));
    assert_eq!(c.p_value, Some(0.3641916505090468));
    assert!(!c.significant);
    assert_near_all(
        &c,
        0.3641916505090467,
        -0.9263734013353366,
        2.0930400680020034,
    );
}

#[test]
fn no_test_when_neither_side_varies() {
    let c = compare(2, 1, Moments::of(&[5, 5]), Moments::of(&[4, 4, 4]));
    assert_eq!(
        c,
        Comparison {
            version: 2,
            control_version: 1,
            difference: 1.0,
            ci_low: None,
            ci_high: None,
            p_value: None,
            significant: false,
        }
    );
}

#[test]
fn no_test_below_two_scores_on_either_side() {
    let one = compare(2, 1, Moments::of(&[5]), Moments::of(&[1, 2, 3]));
    assert_eq!((one.difference, one.p_value, one.ci_low), (3.0, None, None));
    let other = compare(2, 1, Moments::of(&[1, 2, 3]), Moments::of(&[5]));
    assert_eq!(
        (other.difference, other.p_value, other.ci_high),
        (-3.0, None, None)
    );
}

#[test]
fn an_unrated_side_has_no_difference() {
    let c = compare(3, 1, Moments::default(), Moments::of(&[4, 5]));
    assert_eq!((c.difference, c.p_value, c.significant), (0.0, None, false));
    let c = compare(3, 1, Moments::of(&[4, 5]), Moments::default());
    assert_eq!((c.difference, c.p_value, c.significant), (0.0, None, false));
}

#[test]
fn many_scores_stay_finite_and_exact() {
    // A million alternating 1s and 5s: mean 3, s² = 4·10⁶/(10⁶ − 1).
    let m = Moments {
        count: 1_000_000,
        sum: 3_000_000,
        sum_sq: 13_000_000,
    };
    let s = summary(m);
    assert_eq!(s.mean, 3.0);
    assert_eq!(s.std_dev, (4_000_000.0f64 / 999_999.0).sqrt());
    let (low, high) = (s.ci_low.expect("low"), s.ci_high.expect("high"));
    assert!(
        low.is_finite() && high.is_finite() && low < 3.0 && high > 3.0,
        "{s:?}"
    );
    let c = compare(
        2,
        1,
        m,
        Moments {
            sum: 3_000_100,
            sum_sq: 13_000_500,
            ..m
        },
    );
    assert!(
        c.p_value
            .is_some_and(|p| p.is_finite() && (0.0..=1.0).contains(&p)),
        "{c:?}"
    );
}
