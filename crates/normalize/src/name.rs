//! Personal names in the layouts agencies use: separate given names and two surnames (Mexico,
//! Guatemala), a single full-name field, or US-style FIRST/MIDDLE/LAST where LAST may hold one
//! surname or two (joined by a space or a hyphen).
//!
//! The parser works on folded words. Words are first grouped into *units*: a surname or given
//! name together with the particles that introduce it ("de la Cruz", "del Carmen", "San
//! Martín"). The layout then decides which units are given names, which are surnames and which is
//! a married name. docs/normalisation.md describes every rule with examples.

use serde::{Deserialize, Serialize};

use crate::fold::fold_into;
use crate::nicknames::{self, expand_abbreviation, is_known_given};
use crate::particles::{
    is_compound_surname, is_de_surname, is_particle, is_suffix, is_widow_marker,
};
use crate::phonetic::push_word_key;

/// How a full-name field is ordered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum FullNameOrder {
    /// "José Luis García López"
    #[default]
    GivenFirst,
    /// "GARCIA LOPEZ JOSE LUIS" or "GARCIA LOPEZ, JOSE LUIS"
    SurnamesFirst,
}

/// The name fields of one record, as the source laid them out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NameInput<'a> {
    /// Given name(s) and up to two surnames in separate fields.
    Parts {
        given: &'a str,
        surname1: &'a str,
        surname2: &'a str,
    },
    /// US layout: LAST may hold one or two surnames.
    FirstMiddleLast {
        first: &'a str,
        middle: &'a str,
        last: &'a str,
    },
    /// One field holding the whole name. A comma always means "SURNAMES, GIVEN", whatever the
    /// declared order.
    Full { full: &'a str, order: FullNameOrder },
}

/// A person's name, kept for display and normalised for comparison.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct PersonName {
    /// Given names as written, whitespace tidied, accents kept.
    pub given_display: String,
    /// Surnames as written, whitespace tidied, accents kept.
    pub surnames_display: String,
    /// Folded given names, one entry per name: "José Luis" is `["jose", "luis"]`, because either
    /// name alone is how the person often appears elsewhere. A name joined by particles stays one
    /// entry ("maria de los angeles", "jose de jesus"), because its parts mean nothing alone; its
    /// last part ("angeles") is offered in `given_alternates`. Written abbreviations are expanded
    /// ("Ma." → "maria"); single-letter initials are kept as they are ("j").
    pub given: Vec<String>,
    /// Folded first (paternal) surname, particles kept attached ("de la cruz").
    pub surname1: Option<String>,
    /// Folded second (maternal) surname.
    pub surname2: Option<String>,
    /// A married name, when the surnames held one ("de garcia" in "perez de garcia").
    pub married_surname: Option<String>,
    /// Alternate folded given names: nickname expansions and abbreviations ("lupe" → "guadalupe").
    pub given_alternates: Vec<String>,
    /// Spanish phonetic key of the first given name that is not an initial (its first word).
    pub given_phonetic: Option<String>,
    /// Spanish phonetic keys of the two surnames, particles left out ("de la Cruz" → "krus"),
    /// since agencies often drop them.
    pub surname1_phonetic: Option<String>,
    pub surname2_phonetic: Option<String>,
}

/// Why a name was not accepted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NameError {
    #[error("no name given")]
    Empty,
    #[error("name has no letters")]
    NoLetters,
}

/// Parses a name in any of the supported layouts.
pub fn parse_name(input: NameInput<'_>) -> Result<PersonName, NameError> {
    let mut out = PersonName::default();
    match input {
        NameInput::Parts {
            given,
            surname1,
            surname2,
        } => {
            require_text(&[given, surname1, surname2])?;
            let g = Words::of(&[given]);
            let s1 = Words::of(&[surname1]);
            let s2 = Words::of(&[surname2]);
            require_letters(&[&g, &s1, &s2])?;
            tidy_into(&mut out.given_display, &[given]);
            tidy_into(&mut out.surnames_display, &[surname1, surname2]);
            set_given(&mut out, &g, &units(&g, false));
            set_surnames_from_fields(&mut out, &s1, &s2);
        }
        NameInput::FirstMiddleLast {
            first,
            middle,
            last,
        } => {
            require_text(&[first, middle, last])?;
            let g = Words::of(&[first, middle]);
            let s = Words::of(&[last]);
            require_letters(&[&g, &s])?;
            tidy_into(&mut out.given_display, &[first, middle]);
            tidy_into(&mut out.surnames_display, &[last]);
            set_given(&mut out, &g, &units(&g, false));
            set_surnames_from_fields(&mut out, &s, &Words::default());
        }
        NameInput::Full { full, order } => {
            require_text(&[full])?;
            match full.split_once(',') {
                Some((surnames, given)) if has_letter(surnames) && has_letter(given) => {
                    let g = Words::of(&[given]);
                    let s = Words::of(&[surnames]);
                    require_letters(&[&g, &s])?;
                    tidy_into(&mut out.given_display, &[given]);
                    tidy_into(&mut out.surnames_display, &[surnames]);
                    set_given(&mut out, &g, &units(&g, false));
                    set_surnames_from_fields(&mut out, &s, &Words::default());
                }
                _ => {
                    let w = Words::of(&[full]);
                    require_letters(&[&w])?;
                    parse_full(&mut out, &w, order);
                }
            }
        }
    }
    finish(&mut out);
    Ok(out)
}

fn require_text(fields: &[&str]) -> Result<(), NameError> {
    if fields.iter().all(|f| f.trim().is_empty()) {
        Err(NameError::Empty)
    } else {
        Ok(())
    }
}

fn require_letters(words: &[&Words<'_>]) -> Result<(), NameError> {
    if words.iter().all(|w| w.is_empty()) {
        Err(NameError::NoLetters)
    } else {
        Ok(())
    }
}

fn has_letter(s: &str) -> bool {
    s.chars().any(char::is_alphabetic)
}

/// Appends the fields to `out`, whitespace collapsed to single spaces, accents and case kept.
fn tidy_into(out: &mut String, fields: &[&str]) {
    for field in fields {
        for tok in field.split_whitespace() {
            if !out.is_empty() {
                out.push(' ');
            }
            out.push_str(tok);
        }
    }
}

/// The folded words of one or more fields, with the whitespace-separated token each came from
/// (so a full name can be split for display without losing its accents).
#[derive(Default)]
struct Words<'a> {
    /// Folded text; words are byte ranges of it.
    buf: String,
    words: Vec<Word>,
    /// The original tokens.
    tokens: Vec<&'a str>,
}

#[derive(Clone, Copy)]
struct Word {
    start: usize,
    end: usize,
    token: usize,
}

impl<'a> Words<'a> {
    fn of(fields: &[&'a str]) -> Words<'a> {
        let cap: usize = fields.iter().map(|f| f.len()).sum();
        let mut w = Words {
            buf: String::with_capacity(cap + 1),
            words: Vec::with_capacity(8),
            tokens: Vec::new(),
        };
        for field in fields {
            for tok in field.split_whitespace() {
                w.push_token(tok);
            }
        }
        // "GARCIA JR": a generational suffix is not a name (kept in the display form).
        while w.words.len() > 1
            && w.words
                .last()
                .is_some_and(|x| is_suffix(&w.buf[x.start..x.end]))
        {
            w.words.pop();
        }
        w
    }

    fn push_token(&mut self, tok: &'a str) {
        let token = self.tokens.len();
        self.tokens.push(tok);
        let before = self.buf.len();
        fold_into(tok, &mut self.buf);
        let mut pos = before;
        for piece in self.buf[before..].split(' ') {
            if piece.is_empty() {
                pos += 1;
                continue;
            }
            let (start, end) = (pos, pos + piece.len());
            pos = end + 1;
            // Words without letters ("2", "3ro") carry nothing comparable in a name.
            if piece.bytes().any(|b| b.is_ascii_lowercase()) {
                self.words.push(Word { start, end, token });
            }
        }
    }

    fn len(&self) -> usize {
        self.words.len()
    }

    fn is_empty(&self) -> bool {
        self.words.is_empty()
    }

    fn text(&self, i: usize) -> &str {
        let w = self.words[i];
        &self.buf[w.start..w.end]
    }

    /// The folded text of words `a..b` as one slice; words are contiguous in `buf` unless a
    /// letterless word was dropped between them, in which case the slice simply won't match a
    /// table entry.
    fn span(&self, a: usize, b: usize) -> &str {
        &self.buf[self.words[a].start..self.words[b - 1].end]
    }

    /// Words `a..b` joined by single spaces.
    fn join(&self, a: usize, b: usize) -> String {
        let mut s = String::with_capacity(self.span(a, b).len());
        for i in a..b {
            if i > a {
                s.push(' ');
            }
            s.push_str(self.text(i));
        }
        s
    }
}

/// A name with the particles that introduce it: words `start..end`, the particles being
/// `start..head`.
#[derive(Clone, Copy, Debug)]
struct Unit {
    start: usize,
    head: usize,
    end: usize,
    /// Introduced by a lone "de" (the married-name form "de García").
    bare_de: bool,
    /// Introduced by "vda. de" / "viuda de": certainly a married name.
    widow: bool,
}

impl Unit {
    fn has_particles(&self) -> bool {
        self.head > self.start
    }

    fn last_word<'w>(&self, w: &'w Words<'_>) -> &'w str {
        w.text(self.end - 1)
    }

    /// A married name: "vda. de X", or "de X" after another surname unless "de X" is a surname of
    /// its own ("de León").
    fn is_married(&self, w: &Words<'_>, index: usize) -> bool {
        self.widow || (index > 0 && self.bare_de && !is_de_surname(self.last_word(w)))
    }
}

/// Groups words into units. With `conjunction`, a "y" between two names is dropped
/// ("Ortega y Gasset" is two surnames).
fn units(w: &Words<'_>, conjunction: bool) -> Vec<Unit> {
    let n = w.len();
    let mut out: Vec<Unit> = Vec::with_capacity(n);
    let mut widow = false;
    let mut i = 0;
    while i < n {
        let word = w.text(i);
        if conjunction && word == "y" && !out.is_empty() && i + 1 < n {
            i += 1;
            continue;
        }
        if is_widow_marker(word) && i + 1 < n && w.text(i + 1) == "de" {
            widow = true;
            i += 1;
            continue;
        }
        let start = i;
        // Particles attach to the word that follows; a trailing particle stands alone.
        while i + 1 < n && is_particle(w.text(i)) {
            i += 1;
        }
        let head = i;
        i += 1;
        let bare_de = head == start + 1 && w.text(start) == "de";
        let unit = Unit {
            start,
            head,
            end: i,
            bare_de,
            widow,
        };
        widow = false;
        // "Ponce" + "de León" is one surname, not a surname and a married name.
        if let Some(prev) = out.last_mut()
            && unit.has_particles()
            && !prev.has_particles()
            && !unit.widow
            && is_compound_surname(w.span(prev.start, prev.end), w.span(unit.start, unit.end))
        {
            prev.end = unit.end;
            continue;
        }
        out.push(unit);
    }
    out
}

/// Given names from units: a unit introduced by particles continues the name before it
/// ("María" + "de los Ángeles").
fn set_given(out: &mut PersonName, w: &Words<'_>, units: &[Unit]) {
    let mut entries: Vec<(usize, usize)> = Vec::with_capacity(units.len());
    for u in units {
        match entries.last_mut() {
            Some(last) if u.has_particles() => last.1 = u.end,
            _ => entries.push((u.start, u.end)),
        }
    }
    for (a, b) in entries {
        let mut s = String::with_capacity(w.span(a, b).len() + 6);
        for i in a..b {
            let word = w.text(i);
            if i > a {
                s.push(' ');
                s.push_str(word);
            } else {
                s.push_str(expand_abbreviation(word).unwrap_or(word));
            }
        }
        out.given.push(s);
    }
}

/// Surnames from the surname field(s) of a layout that separates them from the given names.
/// `second` is the maternal-surname field where the layout has one (empty otherwise).
fn set_surnames_from_fields(out: &mut PersonName, first: &Words<'_>, second: &Words<'_>) {
    let u1 = units(first, true);
    let u2 = units(second, true);
    let married1 = u1
        .iter()
        .enumerate()
        .position(|(k, u)| u.is_married(first, k));
    let married2 = u2
        .iter()
        .enumerate()
        .position(|(k, u)| u.is_married(second, k));
    let rest1: Vec<Unit> = u1
        .iter()
        .enumerate()
        .filter(|(k, _)| Some(*k) != married1)
        .map(|(_, u)| *u)
        .collect();
    let rest2: Vec<Unit> = u2
        .iter()
        .enumerate()
        .filter(|(k, _)| Some(*k) != married2)
        .map(|(_, u)| *u)
        .collect();
    out.married_surname = married1
        .map(|k| join_units(first, &u1[k..=k]))
        .or_else(|| married2.map(|k| join_units(second, &u2[k..=k])));
    match (rest1.split_first(), rest2.split_first()) {
        // One field holding both surnames ("GARCIA LOPEZ", "GARCIA-LOPEZ"), or only a maternal
        // surname given: the first is surname1, any others make surname2.
        (Some((s1, more)), None) => {
            out.surname1 = Some(join_units(first, std::slice::from_ref(s1)));
            out.surname2 = (!more.is_empty()).then(|| join_units(first, more));
        }
        (None, Some((s1, more))) => {
            out.surname1 = Some(join_units(second, std::slice::from_ref(s1)));
            out.surname2 = (!more.is_empty()).then(|| join_units(second, more));
        }
        (Some(_), Some(_)) => {
            out.surname1 = Some(join_units(first, &rest1));
            out.surname2 = Some(join_units(second, &rest2));
        }
        (None, None) => {}
    }
}

fn join_units(w: &Words<'_>, units: &[Unit]) -> String {
    let mut s = String::new();
    for u in units {
        if !s.is_empty() {
            s.push(' ');
        }
        s.push_str(&w.join(u.start, u.end));
    }
    s
}

/// A whole name in one field, without a comma.
fn parse_full(out: &mut PersonName, w: &Words<'_>, order: FullNameOrder) {
    let u = units(w, true);
    let n = u.len();
    if n == 0 {
        return;
    }
    let is_married = |k: usize| u[k].is_married(w, k);
    let known = |k: usize| is_known_given(u[k].last_word(w));
    // Ranges of `u`: given names, surnames, and the married name's index.
    let (given, surnames, married) = match order {
        FullNameOrder::GivenFirst => {
            // "María Pérez de Vásquez": a married name comes last.
            let married =
                ((n >= 2 && u[n - 1].widow) || (n >= 3 && is_married(n - 1))).then_some(n - 1);
            let m = married.unwrap_or(n);
            // Two surnames when there is room for them, unless the first candidate is a known
            // given name ("Juan Carlos García", "María del Carmen López").
            let k = match m {
                0 | 1 => 0,
                2 => 1,
                _ if known(m - 2) => 1,
                _ => 2,
            };
            (0..m - k, m - k..m, married)
        }
        FullNameOrder::SurnamesFirst => {
            // "GARCIA LOPEZ JOSE LUIS", "PEREZ DE VASQUEZ MARIA", "GARCIA JOSE LUIS".
            let mut end = 1;
            let mut married = None;
            if n >= 2 && (u[1].widow || (n >= 3 && is_married(1))) {
                married = Some(1);
                end = 2;
            } else if n >= 3 && !known(1) {
                end = 2;
                if (n >= 4 && is_married(2)) || (n == 3 && u[2].widow) {
                    married = Some(2);
                    end = 3;
                }
            }
            let surnames_end = if married.is_some() { end - 1 } else { end };
            (end..n, 0..surnames_end, married)
        }
    };
    set_given(out, w, &u[given.clone()]);
    let sur = &u[surnames];
    if let Some((s1, more)) = sur.split_first() {
        out.surname1 = Some(join_units(w, std::slice::from_ref(s1)));
        out.surname2 = (!more.is_empty()).then(|| join_units(w, more));
    }
    out.married_surname = married.map(|k| join_units(w, &u[k..=k]));

    // Display: each original token goes with the part its first word landed in; tokens without
    // words (a suffix, stray punctuation) go with the token before them.
    let boundary = |r: &std::ops::Range<usize>| {
        if r.is_empty() {
            None
        } else {
            Some(u[r.start].start)
        }
    };
    let given_words = match order {
        FullNameOrder::GivenFirst => 0..boundary(&(given.end..n)).unwrap_or(w.len()),
        FullNameOrder::SurnamesFirst => boundary(&given).unwrap_or(w.len())..w.len(),
    };
    let mut next_word = 0;
    let mut in_given = matches!(order, FullNameOrder::GivenFirst) && !given.is_empty();
    for (t, tok) in w.tokens.iter().enumerate() {
        while next_word < w.len() && w.words[next_word].token < t {
            next_word += 1;
        }
        if next_word < w.len() && w.words[next_word].token == t {
            in_given = given_words.contains(&next_word);
        }
        let target = if in_given {
            &mut out.given_display
        } else {
            &mut out.surnames_display
        };
        if !target.is_empty() {
            target.push(' ');
        }
        target.push_str(tok);
    }
}

/// Phonetic keys and alternates, from the folded fields.
fn finish(out: &mut PersonName) {
    out.given_phonetic = out
        .given
        .iter()
        .find(|g| g.len() > 1 && g.as_bytes()[1] != b' ')
        .map(|g| {
            let mut key = String::with_capacity(g.len());
            push_word_key(g.split(' ').next().unwrap_or(g), &mut key);
            key
        });
    out.surname1_phonetic = out.surname1.as_deref().map(surname_key);
    out.surname2_phonetic = out.surname2.as_deref().map(surname_key);
    out.given_alternates = given_alternates(&out.given);
}

/// Phonetic key of a folded surname without its particles (all words if it is only particles).
fn surname_key(s: &str) -> String {
    let mut key = String::with_capacity(s.len() + 2);
    for word in s.split(' ').filter(|w| !is_particle(w)) {
        push_word_key(word, &mut key);
    }
    if key.is_empty() {
        for word in s.split(' ') {
            push_word_key(word, &mut key);
        }
    }
    key
}

fn given_alternates(given: &[String]) -> Vec<String> {
    let mut alts: Vec<String> = Vec::new();
    let add = |alts: &mut Vec<String>, a: &str| {
        if !given.iter().any(|g| g == a) && !alts.iter().any(|x| x == a) {
            alts.push(a.to_string());
        }
    };
    for g in given {
        if g.len() <= 1 {
            continue;
        }
        if g.contains(' ') {
            // "maria de los angeles" is often just "Ángeles", "maria del rosario" "Chayo".
            if let Some(tail) = g
                .rsplit(' ')
                .next()
                .filter(|t| t.len() > 1 && !is_particle(t))
            {
                add(&mut alts, tail);
                for a in nicknames::alternates(tail) {
                    add(&mut alts, a);
                }
            }
        }
        for a in nicknames::alternates(g) {
            add(&mut alts, a);
        }
    }
    // Two-word formal names with a nickname of their own: "José María" is "Chema".
    let mut pair = String::new();
    for w in given.windows(2) {
        if w[0].contains(' ') || w[1].contains(' ') {
            continue;
        }
        pair.clear();
        pair.push_str(&w[0]);
        pair.push(' ');
        pair.push_str(&w[1]);
        for a in nicknames::alternates(&pair) {
            add(&mut alts, a);
        }
    }
    alts
}

#[cfg(test)]
mod tests;
