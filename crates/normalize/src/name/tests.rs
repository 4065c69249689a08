use super::*;

/// What a case expects: given names, surname1, surname2, married name (`""` for none).
struct Want<'a> {
    given: &'a [&'a str],
    s1: &'a str,
    s2: &'a str,
    married: &'a str,
}

const fn want<'a>(given: &'a [&'a str], s1: &'a str, s2: &'a str, married: &'a str) -> Want<'a> {
    Want {
        given,
        s1,
        s2,
        married,
    }
}

fn opt(s: &str) -> Option<String> {
    (!s.is_empty()).then(|| s.to_string())
}

fn assert_parsed(input: NameInput<'_>, w: &Want<'_>) {
    let p = parse_name(input).unwrap_or_else(|e| panic!("{input:?}: {e}"));
    assert_eq!(p.given, w.given, "given of {input:?}");
    assert_eq!(p.surname1, opt(w.s1), "surname1 of {input:?}");
    assert_eq!(p.surname2, opt(w.s2), "surname2 of {input:?}");
    assert_eq!(p.married_surname, opt(w.married), "married of {input:?}");
}

fn full(s: &str) -> NameInput<'_> {
    NameInput::Full {
        full: s,
        order: FullNameOrder::GivenFirst,
    }
}

fn surnames_first(s: &str) -> NameInput<'_> {
    NameInput::Full {
        full: s,
        order: FullNameOrder::SurnamesFirst,
    }
}

fn fml<'a>(first: &'a str, middle: &'a str, last: &'a str) -> NameInput<'a> {
    NameInput::FirstMiddleLast {
        first,
        middle,
        last,
    }
}

fn parts<'a>(given: &'a str, surname1: &'a str, surname2: &'a str) -> NameInput<'a> {
    NameInput::Parts {
        given,
        surname1,
        surname2,
    }
}

#[test]
fn us_last_name_splits() {
    let cases = [
        (
            fml("JOSE", "LUIS", "GARCIA LOPEZ"),
            want(&["jose", "luis"], "garcia", "lopez", ""),
        ),
        (
            fml("JOSE", "LUIS", "GARCIA-LOPEZ"),
            want(&["jose", "luis"], "garcia", "lopez", ""),
        ),
        (fml("JOSE", "", "GARCIA"), want(&["jose"], "garcia", "", "")),
        (
            fml("MARIA", "DE LOS ANGELES", "DE LA CRUZ"),
            want(&["maria de los angeles"], "de la cruz", "", ""),
        ),
        (
            fml("Ana", "", "García y López"),
            want(&["ana"], "garcia", "lopez", ""),
        ),
        (
            fml("JOHN", "", "SMITH JR"),
            want(&["john"], "smith", "", ""),
        ),
        (
            fml("Sean", "", "O'Brien"),
            want(&["sean"], "obrien", "", ""),
        ),
        (
            fml("J.", "Luis", "Ponce de León"),
            want(&["j", "luis"], "ponce de leon", "", ""),
        ),
        (
            fml("Rosa", "", "Montes de Oca Pérez"),
            want(&["rosa"], "montes de oca", "perez", ""),
        ),
    ];
    for (input, w) in &cases {
        assert_parsed(*input, w);
    }
}

#[test]
fn separate_fields() {
    let cases = [
        (
            parts("José Luis", "García", "López"),
            want(&["jose", "luis"], "garcia", "lopez", ""),
        ),
        (
            parts("Juan Carlos", "De la Cruz", "Xol"),
            want(&["juan", "carlos"], "de la cruz", "xol", ""),
        ),
        (
            parts("María", "Pérez de Vásquez", ""),
            want(&["maria"], "perez", "", "de vasquez"),
        ),
        (
            parts("María", "López de García", ""),
            want(&["maria"], "lopez", "", "de garcia"),
        ),
        (
            parts("María", "Pérez López de Vásquez", ""),
            want(&["maria"], "perez", "lopez", "de vasquez"),
        ),
        (
            parts("María", "Pérez", "López de Vásquez"),
            want(&["maria"], "perez", "lopez", "de vasquez"),
        ),
        (
            parts("Ana", "Pérez", "vda. de García"),
            want(&["ana"], "perez", "", "de garcia"),
        ),
        (
            parts("Ana", "Díaz de León", ""),
            want(&["ana"], "diaz de leon", "", ""),
        ),
        (
            parts("Ana", "López", "de León"),
            want(&["ana"], "lopez", "de leon", ""),
        ),
        (
            parts("Ana", "López de León", ""),
            want(&["ana"], "lopez", "de leon", ""),
        ),
        (
            parts("Ana", "San Martín", "Del Valle"),
            want(&["ana"], "san martin", "del valle", ""),
        ),
        (
            parts("Ana", "GARCIA LOPEZ", ""),
            want(&["ana"], "garcia", "lopez", ""),
        ),
        (parts("Ana", "", "López"), want(&["ana"], "lopez", "", "")),
        (
            parts("", "Tzunún", "Ixcoy"),
            want(&[], "tzunun", "ixcoy", ""),
        ),
        (
            parts("Ma. de Jesús", "Cux", "Pop"),
            want(&["maria de jesus"], "cux", "pop", ""),
        ),
        (
            parts("Fco. Javier", "Chen", "Caal"),
            want(&["francisco", "javier"], "chen", "caal", ""),
        ),
        (
            parts("Gpe.", "Tzul", ""),
            want(&["guadalupe"], "tzul", "", ""),
        ),
        (
            parts("J. Jesús", "Pérez", ""),
            want(&["j", "jesus"], "perez", "", ""),
        ),
        (
            parts("Juan de Dios", "Xol", ""),
            want(&["juan de dios"], "xol", "", ""),
        ),
        (
            parts("Jean-Pierre", "Dupont", ""),
            want(&["jean", "pierre"], "dupont", "", ""),
        ),
    ];
    for (input, w) in &cases {
        assert_parsed(*input, w);
    }
}

#[test]
fn full_names_given_first() {
    let cases = [
        (
            "José Luis García López",
            want(&["jose", "luis"], "garcia", "lopez", ""),
        ),
        ("Juan García López", want(&["juan"], "garcia", "lopez", "")),
        ("Juan García", want(&["juan"], "garcia", "", "")),
        (
            "Juan Carlos García",
            want(&["juan", "carlos"], "garcia", "", ""),
        ),
        (
            "María del Carmen López",
            want(&["maria del carmen"], "lopez", "", ""),
        ),
        (
            "María de los Ángeles García de la Cruz",
            want(&["maria de los angeles"], "garcia", "de la cruz", ""),
        ),
        (
            "José de Jesús García López",
            want(&["jose de jesus"], "garcia", "lopez", ""),
        ),
        (
            "María Pérez de Vásquez",
            want(&["maria"], "perez", "", "de vasquez"),
        ),
        (
            "María Pérez López de Vásquez",
            want(&["maria"], "perez", "lopez", "de vasquez"),
        ),
        (
            "Ana Pérez vda. de García",
            want(&["ana"], "perez", "", "de garcia"),
        ),
        (
            "Juan Ponce de León",
            want(&["juan"], "ponce de leon", "", ""),
        ),
        (
            "Juan Pérez de León",
            want(&["juan"], "perez", "de leon", ""),
        ),
        (
            "José Ortega y Gasset",
            want(&["jose"], "ortega", "gasset", ""),
        ),
        (
            "Ma. Guadalupe Xol Caal",
            want(&["maria", "guadalupe"], "xol", "caal", ""),
        ),
        ("Madonna", want(&["madonna"], "", "", "")),
        ("JOSE GARCIA JR", want(&["jose"], "garcia", "", "")),
        // A comma means "SURNAMES, GIVEN" whatever the declared order.
        (
            "GARCIA LOPEZ, JOSE LUIS",
            want(&["jose", "luis"], "garcia", "lopez", ""),
        ),
        (
            "Pérez de Vásquez, María",
            want(&["maria"], "perez", "", "de vasquez"),
        ),
    ];
    for (input, w) in &cases {
        assert_parsed(full(input), w);
    }
}

#[test]
fn full_names_surnames_first() {
    let cases = [
        (
            "GARCIA LOPEZ JOSE LUIS",
            want(&["jose", "luis"], "garcia", "lopez", ""),
        ),
        (
            "GARCIA JOSE LUIS",
            want(&["jose", "luis"], "garcia", "", ""),
        ),
        ("GARCIA JOSE", want(&["jose"], "garcia", "", "")),
        (
            "PEREZ DE VASQUEZ MARIA",
            want(&["maria"], "perez", "", "de vasquez"),
        ),
        (
            "PEREZ LOPEZ DE VASQUEZ MARIA",
            want(&["maria"], "perez", "lopez", "de vasquez"),
        ),
        (
            "DE LA CRUZ GARCIA MARIA DE LOS ANGELES",
            want(&["maria de los angeles"], "de la cruz", "garcia", ""),
        ),
        (
            "LOPEZ MARIA DEL CARMEN",
            want(&["maria del carmen"], "lopez", "", ""),
        ),
        ("XOL CAAL ROSA", want(&["rosa"], "xol", "caal", "")),
        (
            "GARCIA LOPEZ, JOSE LUIS",
            want(&["jose", "luis"], "garcia", "lopez", ""),
        ),
        ("GARCIA", want(&[], "garcia", "", "")),
    ];
    for (input, w) in &cases {
        assert_parsed(surnames_first(input), w);
    }
}

#[test]
fn display_keeps_accents_and_splits_full_names() {
    let cases = [
        (
            full("  José   Luis  García-López "),
            "José Luis",
            "García-López",
        ),
        (full("María Pérez de Vásquez"), "María", "Pérez de Vásquez"),
        (full("JOSE GARCIA JR"), "JOSE", "GARCIA JR"),
        (full("José Ortega y Gasset"), "José", "Ortega y Gasset"),
        (surnames_first("NÚÑEZ PEÑA JOSÉ"), "JOSÉ", "NÚÑEZ PEÑA"),
        (full("Núñez Peña ,  José"), "José", "Núñez Peña"),
        (
            parts(" Ana ", "Pérez", " de  León "),
            "Ana",
            "Pérez de León",
        ),
        (fml("José", " Luis", "García"), "José Luis", "García"),
    ];
    for (input, given, surnames) in cases {
        let p = parse_name(input).unwrap_or_default();
        assert_eq!(
            (p.given_display.as_str(), p.surnames_display.as_str()),
            (given, surnames),
            "{input:?}"
        );
    }
}

#[test]
fn alternates_from_nicknames_and_compounds() {
    let cases: &[(NameInput<'_>, &[&str], &[&str])] = &[
        (parts("Lupe", "Xol", ""), &["guadalupe"], &[]),
        (parts("Guadalupe", "Xol", ""), &["lupe"], &[]),
        (parts("Chuy", "Pop", ""), &["jesus"], &[]),
        (parts("Pepe", "Pop", ""), &["jose"], &[]),
        (
            parts("José", "Pop", ""),
            &["pepe", "joseph", "joe"],
            &["jose"],
        ),
        (
            parts("Beto", "Pop", ""),
            &["alberto", "roberto", "humberto"],
            &[],
        ),
        (
            parts("Alberto", "Pop", ""),
            &["beto", "albert"],
            &["roberto"],
        ),
        (parts("Chema", "Pop", ""), &["jose maria"], &[]),
        (parts("José María", "Pop", ""), &["chema"], &[]),
        (parts("María Eugenia", "Pop", ""), &["maru"], &[]),
        (parts("Toño", "Pop", ""), &["antonio"], &[]),
        (parts("Mary", "Smith", ""), &["maria"], &[]),
        (parts("Frank", "Smith", ""), &["francisco"], &[]),
        (parts("María de los Ángeles", "Pop", ""), &["angeles"], &[]),
        (
            parts("María del Rosario", "Pop", ""),
            &["rosario", "chayo", "charo"],
            &[],
        ),
        (parts("Güero", "Pop", ""), &[], &["guero"]),
        (parts("J.", "Pop", ""), &[], &["j"]),
    ];
    for (input, present, absent) in cases {
        let p = parse_name(*input).unwrap_or_default();
        for a in *present {
            assert!(
                p.given_alternates.iter().any(|x| x == a),
                "{input:?} lacks {a}: {:?}",
                p.given_alternates
            );
        }
        for a in *absent {
            assert!(
                !p.given_alternates.iter().any(|x| x == a),
                "{input:?} has {a}"
            );
        }
    }
}

#[test]
fn phonetic_fields() {
    let p = parse_name(parts("Ximena", "de la Cruz", "Vázquez")).unwrap_or_default();
    assert_eq!(p.given_phonetic.as_deref(), Some("jimena"));
    assert_eq!(p.surname1_phonetic.as_deref(), Some("krus"));
    assert_eq!(p.surname2_phonetic.as_deref(), Some("baskes"));
    let q = parse_name(parts("Jimena", "Cruz", "Basquez")).unwrap_or_default();
    assert_eq!(
        (q.given_phonetic, q.surname1_phonetic, q.surname2_phonetic),
        (p.given_phonetic, p.surname1_phonetic, p.surname2_phonetic)
    );
    // The key skips initials.
    let r = parse_name(fml("J.", "Luis", "Xol")).unwrap_or_default();
    assert_eq!(r.given_phonetic.as_deref(), Some("luis"));
    let only_initial = parse_name(fml("J.", "", "Xol")).unwrap_or_default();
    assert_eq!(only_initial.given_phonetic, None);
}

#[test]
fn mayan_surnames_survive() {
    for s in [
        "Xol", "Caal", "Tzul", "Chen", "Pop", "Tzunún", "Cux", "Ixcoy",
    ] {
        let p = parse_name(parts("Rosa", s, "")).unwrap_or_default();
        assert_eq!(p.surname1, Some(crate::fold(s)), "{s}");
        assert_eq!(p.surnames_display, s);
    }
}

#[test]
fn errors() {
    assert_eq!(parse_name(parts("", "", "")), Err(NameError::Empty));
    assert_eq!(parse_name(parts("  ", "\t", "")), Err(NameError::Empty));
    assert_eq!(parse_name(full("   ")), Err(NameError::Empty));
    assert_eq!(parse_name(fml("", "", "")), Err(NameError::Empty));
    assert_eq!(
        parse_name(parts("123", "--", "")),
        Err(NameError::NoLetters)
    );
    assert_eq!(parse_name(full("?? 42 ..")), Err(NameError::NoLetters));
    assert_eq!(parse_name(full(",")), Err(NameError::NoLetters));
}
