//! Release policies are written by hand: any text parses to a policy or a clear error, and a
//! parsed policy decides any request without panicking, releasing only what was requested.
#![no_main]

use std::collections::BTreeSet;

use enlace_node::config::Country;
use enlace_node::policy::{Flag, Offence, Policy, ReleaseField, RequestContext};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&selector, rest)) = data.split_first() else {
        return;
    };
    let Ok(text) = std::str::from_utf8(rest) else {
        return;
    };
    let Ok(policy) = Policy::from_toml(text, Country::GT) else {
        return;
    };
    let offence = Offence::ALL[usize::from(selector) % Offence::ALL.len()];
    let flags: BTreeSet<Flag> = if selector & 0x80 != 0 { [Flag::CourtOrder].into() } else { BTreeSet::new() };
    let requested: BTreeSet<ReleaseField> = ReleaseField::ALL
        .iter()
        .enumerate()
        .filter(|(i, _)| selector.rotate_left(*i as u32) & 1 == 1)
        .map(|(_, f)| *f)
        .collect();
    for nationality in [None, Some("GT"), Some("MX")] {
        for partner in ["mx-fgr", "*", ""] {
            let ctx = RequestContext { partner, offence, subject_nationality: nationality, flags: &flags };
            let d = policy.decide(&ctx, &requested);
            assert!(d.release.is_subset(&requested));
            assert!(d.release.iter().all(|f| !d.withheld.contains_key(f)));
        }
    }
});
