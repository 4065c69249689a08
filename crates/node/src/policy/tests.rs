use std::collections::BTreeSet;

use proptest::prelude::*;

use super::*;

const GT: &str = include_str!("../../../../examples/policies/gt-agency.toml");

fn fields(names: &[&str]) -> BTreeSet<ReleaseField> {
    names
        .iter()
        .map(|n| ReleaseField::parse(n).unwrap())
        .collect()
}

fn all_fields() -> BTreeSet<ReleaseField> {
    ReleaseField::ALL.iter().copied().collect()
}

fn decide(partner: &str, offence: Offence, nationality: Option<&str>, flags: &[Flag]) -> Decision {
    let policy = Policy::from_toml(GT, Country::GT).unwrap();
    let flags: BTreeSet<Flag> = flags.iter().copied().collect();
    let ctx = RequestContext {
        partner,
        offence,
        subject_nationality: nationality,
        flags: &flags,
    };
    policy.decide(&ctx, &all_fields())
}

#[test]
fn own_nationals_release_nothing_without_a_court_order() {
    let d = decide("mx-fgr", Offence::SmugglingOfMigrants, Some("GT"), &[]);
    assert!(d.release.is_empty(), "{d:?}");
    assert!(d.withheld[&ReleaseField::Surnames].contains("own nationals need a court order"));
    let d = decide(
        "mx-fgr",
        Offence::SmugglingOfMigrants,
        Some("GT"),
        &[Flag::CourtOrder],
    );
    assert_eq!(d.release, all_fields());
    // The shortest retention of the rules that released something.
    assert_eq!(d.retention_days, 90);
}

#[test]
fn a_partner_investigating_smuggling_gets_identity_and_documents_only() {
    let d = decide("mx-inm", Offence::SmugglingOfMigrants, Some("HN"), &[]);
    assert_eq!(
        d.release,
        fields(&[
            "given_names",
            "surnames",
            "birth_date",
            "sex",
            "nationality",
            "document_numbers",
            "encounters",
            "case_reference"
        ])
    );
    assert!(d.withheld.contains_key(&ReleaseField::Phones));
    assert!(d.withheld.contains_key(&ReleaseField::RelativeContact));
    assert_eq!(d.retention_days, 180);
}

#[test]
fn a_missing_person_request_may_release_a_relatives_contact() {
    let d = decide("us-cbp", Offence::MissingPerson, Some("SV"), &[]);
    assert!(d.release.contains(&ReleaseField::RelativeContact), "{d:?}");
    assert!(!d.release.contains(&ReleaseField::DocumentNumbers));
    assert_eq!(d.retention_days, 30);
    // Not for the node's own nationals without a court order.
    let d = decide("us-cbp", Offence::MissingPerson, Some("GT"), &[]);
    assert!(d.release.is_empty());
}

#[test]
fn unknown_partners_and_purposes_get_nothing_and_withholding_wins() {
    let d = decide("xx-unknown", Offence::MoneyLaundering, Some("HN"), &[]);
    assert!(d.release.is_empty());
    assert_eq!(d.withheld.len(), ReleaseField::ALL.len());
    assert_eq!(d.retention_days, 365);
    // A court order releases everything to mx-fgr, except what the document-fraud rule
    // withholds.
    let d = decide(
        "mx-fgr",
        Offence::DocumentFraud,
        Some("HN"),
        &[Flag::CourtOrder],
    );
    assert!(d.release.contains(&ReleaseField::Surnames));
    for f in ["phones", "address", "relative_contact"] {
        let f = ReleaseField::parse(f).unwrap();
        assert!(!d.release.contains(&f));
        assert!(
            d.withheld[&f].contains("document fraud"),
            "{:?}",
            d.withheld[&f]
        );
    }
}

#[test]
fn mistakes_in_the_file_name_the_rule_and_the_key() {
    let err = |text: &str| {
        Policy::from_toml(text, Country::GT)
            .unwrap_err()
            .to_string()
    };
    let e = err(
        "[[rules]]\nname = \"x\"\npartners = [\"*\"]\noffences = [\"smuggling\"]\nrelease = [\"surnames\"]\n",
    );
    assert!(
        e.contains("rule 1 (\"x\")")
            && e.contains("`offences`")
            && e.contains("smuggling_of_migrants"),
        "{e}"
    );
    let e = err("[[rules]]\npartners = [\"*\"]\noffences = [\"*\"]\nrelease = [\"surname\"]\n");
    assert!(
        e.contains("rule 1, `release`") && e.contains("\"surname\" is not one of"),
        "{e}"
    );
    let e = err(
        "[[rules]]\npartners = [\"*\"]\noffences = [\"*\"]\nsubjects = [\"Guatemala\"]\nrelease = [\"sex\"]\n",
    );
    assert!(e.contains("`subjects`"), "{e}");
    let e = err("[[rules]]\npartners = [\"*\"]\noffences = [\"*\"]\n");
    assert!(e.contains("releases and withholds nothing"), "{e}");
    let e = err("[defaults]\nretention_days = 0\n");
    assert!(e.contains("retention_days"), "{e}");
    let e = err(
        "[[rules]]\npartners = [\"*\"]\noffences = [\"*\"]\nrelease = [\"sex\"]\nrequires = [\"warrant\"]\n",
    );
    assert!(e.contains("`requires`") && e.contains("court_order"), "{e}");
    assert!(err("[[rule]]\n").contains("not valid TOML or does not fit"));
}

fn any_offence() -> impl Strategy<Value = Offence> {
    proptest::sample::select(Offence::ALL.to_vec())
}

proptest! {
    #[test]
    fn every_requested_field_is_released_or_withheld_never_both(
        partner in proptest::sample::select(vec!["mx-fgr", "mx-inm", "us-hsi", "us-cbp", "zz"]),
        offence in any_offence(),
        nationality in proptest::option::of(proptest::sample::select(vec!["GT", "MX", "HN", "US"])),
        court in any::<bool>(),
        requested in proptest::sample::subsequence(ReleaseField::ALL.to_vec(), 0..=ReleaseField::ALL.len()),
    ) {
        let policy = Policy::from_toml(GT, Country::GT).unwrap();
        let flags: BTreeSet<Flag> = if court { [Flag::CourtOrder].into() } else { BTreeSet::new() };
        let requested: BTreeSet<ReleaseField> = requested.into_iter().collect();
        let ctx = RequestContext { partner, offence, subject_nationality: nationality, flags: &flags };
        let d = policy.decide(&ctx, &requested);
        prop_assert!(d.release.is_subset(&requested));
        prop_assert!(d.release.iter().all(|f| !d.withheld.contains_key(f)));
        let covered: BTreeSet<ReleaseField> = d.release.iter().copied().chain(d.withheld.keys().copied()).collect();
        prop_assert_eq!(covered, requested);
        // Own nationals: never anything without a court order.
        if nationality == Some("GT") && !court {
            prop_assert!(d.release.is_empty());
        }
        // A court order never releases less.
        if !court {
            let with: BTreeSet<Flag> = [Flag::CourtOrder].into();
            let more = policy.decide(&RequestContext { flags: &with, ..ctx }, &d.release);
            prop_assert!(d.release.is_subset(&more.release));
        }
    }
}
