//! Turns an appearance (a person at an event in one source) into a row of that source's layout,
//! with the errors that source's clerks make. The rates live in [`Profile`]; `docs/scenario.md`
//! lists them.

use chrono::{Datelike, NaiveDate};
use rand::Rng;

use crate::ids;
use crate::names::{ANGLICISED, NICKNAMES, lookup};
use crate::noise::{confuse, strip_accents, typo};
use crate::people::{Nat, Person, Role};
use crate::world::{Event, GT, MX, US};

/// Per-record error rates of one source (probabilities, before the run's noise multiplier).
#[derive(Debug, Clone, Copy)]
pub struct Profile {
    /// Names written in capitals.
    pub upper: f64,
    /// Accents (and ñ) dropped.
    pub strip_accents: f64,
    /// A nickname in place of the given name (Lupe, Chuy, Pepe).
    pub nickname: f64,
    /// "Ma." for María when a second name follows.
    pub ma_abbrev: f64,
    /// An English form of the first name (US only).
    pub anglicise: f64,
    /// Second given name left out.
    pub drop_second_given: f64,
    /// Second surname left out (US records use their own surname model instead).
    pub drop_surname2: f64,
    /// A typing slip, per name field.
    pub typo: f64,
    /// A Spanish spelling confusion somewhere in the name (b/v, s/z/c, ll/y, h, j/g/x).
    pub confusion: f64,
    /// Given names and surnames in each other's fields.
    pub swap_name_surname: f64,
    /// Surnames in the wrong order (MX, GT).
    pub swap_surnames: f64,
    pub dob_missing: f64,
    /// 01/01 of the right year.
    pub dob_placeholder: f64,
    /// Day and month exchanged (only where both readings are dates).
    pub dob_swap: f64,
    pub dob_year_off: f64,
    pub dob_day_off: f64,
    /// Year only (GT's ISO column allows it).
    pub dob_year_only: f64,
    pub sex_unknown: f64,
    pub sex_flip: f64,
    pub phone_missing: f64,
    /// The contact's number (a relative's, or a smuggler's) rather than the person's own.
    pub phone_contact: f64,
    /// Central Americans who say they are Mexican.
    pub claims_mexican: f64,
}

pub const US_PROFILE: Profile = Profile {
    upper: 0.93,
    strip_accents: 0.95,
    nickname: 0.03,
    ma_abbrev: 0.03,
    anglicise: 0.04,
    drop_second_given: 0.2,
    drop_surname2: 0.0,
    typo: 0.04,
    confusion: 0.07,
    swap_name_surname: 0.02,
    swap_surnames: 0.0,
    dob_missing: 0.02,
    dob_placeholder: 0.03,
    dob_swap: 0.03,
    dob_year_off: 0.02,
    dob_day_off: 0.015,
    dob_year_only: 0.0,
    sex_unknown: 0.02,
    sex_flip: 0.005,
    phone_missing: 0.35,
    phone_contact: 0.25,
    claims_mexican: 0.03,
};

pub const MX_PROFILE: Profile = Profile {
    upper: 0.7,
    strip_accents: 0.35,
    nickname: 0.02,
    ma_abbrev: 0.08,
    anglicise: 0.0,
    drop_second_given: 0.05,
    drop_surname2: 0.06,
    typo: 0.025,
    confusion: 0.04,
    swap_name_surname: 0.01,
    swap_surnames: 0.015,
    dob_missing: 0.03,
    dob_placeholder: 0.025,
    dob_swap: 0.02,
    dob_year_off: 0.01,
    dob_day_off: 0.01,
    dob_year_only: 0.0,
    sex_unknown: 0.0,
    sex_flip: 0.003,
    phone_missing: 0.3,
    phone_contact: 0.15,
    claims_mexican: 0.0,
};

pub const GT_PROFILE: Profile = Profile {
    upper: 0.4,
    strip_accents: 0.12,
    nickname: 0.01,
    ma_abbrev: 0.02,
    anglicise: 0.0,
    drop_second_given: 0.05,
    drop_surname2: 0.04,
    typo: 0.015,
    confusion: 0.03,
    swap_name_surname: 0.005,
    swap_surnames: 0.01,
    dob_missing: 0.01,
    dob_placeholder: 0.01,
    dob_swap: 0.005,
    dob_year_off: 0.005,
    dob_day_off: 0.005,
    dob_year_only: 0.015,
    sex_unknown: 0.01,
    sex_flip: 0.002,
    phone_missing: 0.25,
    phone_contact: 0.1,
    claims_mexican: 0.0,
};

pub fn profile(source: usize) -> &'static Profile {
    match source {
        US => &US_PROFILE,
        MX => &MX_PROFILE,
        _ => &GT_PROFILE,
    }
}

/// Column headers, exactly as the mappings in `examples/mappings` name them.
pub const US_HEADER: [&str; 13] = [
    "RECORD_ID",
    "FIRST_NAME",
    "MIDDLE_NAME",
    "LAST_NAME",
    "DOB",
    "SEX",
    "COUNTRY_OF_CITIZENSHIP",
    "PHONE",
    "A_NUMBER",
    "EVENT_ID",
    "ENCOUNTER_DATE",
    "SECTOR",
    "NOTES",
];
pub const MX_HEADER: [&str; 12] = [
    "folio",
    "nombres",
    "primer_apellido",
    "segundo_apellido",
    "fecha_nacimiento",
    "sexo",
    "nacionalidad",
    "curp",
    "telefono",
    "evento_id",
    "fecha_evento",
    "lugar",
];
pub const GT_HEADER: [&str; 13] = [
    "id_registro",
    "primer_nombre",
    "segundo_nombre",
    "primer_apellido",
    "segundo_apellido",
    "fecha_nacimiento",
    "sexo",
    "nacionalidad",
    "dpi",
    "telefono",
    "evento_id",
    "fecha_evento",
    "lugar",
];

pub fn header(source: usize) -> &'static [&'static str] {
    match source {
        US => &US_HEADER,
        MX => &MX_HEADER,
        _ => &GT_HEADER,
    }
}

/// Position of the birth date, identifier and phone columns in each layout.
pub fn dob_column(source: usize) -> usize {
    match source {
        US => 4,
        MX => 4,
        _ => 5,
    }
}

pub fn phone_column(source: usize) -> usize {
    match source {
        US => 7,
        MX => 8,
        _ => 9,
    }
}

pub fn fmt_date(d: NaiveDate, source: usize) -> String {
    match source {
        US => format!("{:02}/{:02}/{:04}", d.month(), d.day(), d.year()),
        MX => format!("{:02}/{:02}/{:04}", d.day(), d.month(), d.year()),
        _ => format!("{:04}-{:02}-{:02}", d.year(), d.month(), d.day()),
    }
}

/// A date that does not exist (30 or 31 February, 31 April…) in the source's format.
pub fn impossible_date<R: Rng>(rng: &mut R, year: i32, source: usize) -> String {
    let (m, d) = [(2, 30), (2, 31), (4, 31), (6, 31), (9, 31), (11, 31)][rng.random_range(0..6)];
    match source {
        US => format!("{m:02}/{d:02}/{year:04}"),
        MX => format!("{d:02}/{m:02}/{year:04}"),
        _ => format!("{year:04}-{m:02}-{d:02}"),
    }
}

/// A phone no parser can read: too short, or words.
pub fn unparseable_phone<R: Rng>(rng: &mut R) -> String {
    ["123", "55-12", "TEL", "000", "9 9", "NO TIENE TEL 5"][rng.random_range(0..6)].to_string()
}

struct Row<'a, R: Rng> {
    rng: &'a mut R,
    prof: &'a Profile,
    k: f64,
}

impl<R: Rng> Row<'_, R> {
    fn hit(&mut self, rate: f64) -> bool {
        let p = (rate * self.k).clamp(0.0, 1.0);
        p > 0.0 && self.rng.random_bool(p)
    }

    fn case(&mut self, upper: bool, strip: bool, s: &str) -> String {
        let s = if strip {
            strip_accents(s)
        } else {
            s.to_string()
        };
        if upper { s.to_uppercase() } else { s }
    }

    fn dob(&mut self, dob: NaiveDate, source: usize) -> String {
        let p = *self.prof;
        if self.hit(p.dob_missing) {
            return String::new();
        }
        if self.hit(p.dob_year_only) {
            return format!("{:04}", dob.year());
        }
        if self.hit(p.dob_placeholder) {
            return NaiveDate::from_ymd_opt(dob.year(), 1, 1)
                .map(|d| fmt_date(d, source))
                .unwrap_or_default();
        }
        let mut d = dob;
        if self.hit(p.dob_swap) && dob.day() <= 12 && dob.day() != dob.month() {
            d = NaiveDate::from_ymd_opt(dob.year(), dob.day(), dob.month()).unwrap_or(dob);
        }
        if self.hit(p.dob_year_off) {
            let y = d.year() + if self.rng.random_bool(0.5) { 1 } else { -1 };
            d = NaiveDate::from_ymd_opt(y, d.month(), d.day()).unwrap_or(d);
        }
        if self.hit(p.dob_day_off) {
            let day = (d.day() as i32 + [-2, -1, 1, 2][self.rng.random_range(0..4)]).max(1) as u32;
            d = NaiveDate::from_ymd_opt(d.year(), d.month(), day).unwrap_or(d);
        }
        fmt_date(d, source)
    }

    fn phone(&mut self, p: &Person, source: usize) -> String {
        let country = ["US", "MX", "GT"][source];
        if self.hit(self.prof.phone_missing) {
            return String::new();
        }
        // Members mostly give the network's work phone.
        let phone = if p.role.is_member() && p.work_phone.is_some() && self.rng.random_bool(0.8) {
            p.work_phone.as_ref()
        } else if p.phones.is_empty()
            || (p.contact_phone.is_some() && self.hit(self.prof.phone_contact))
        {
            // The contact's number, or the only number the person has.
            p.contact_phone.as_ref()
        } else {
            p.phones.get(self.rng.random_range(0..p.phones.len()))
        };
        match phone {
            Some(ph) => ids::format_phone(self.rng, ph, country),
            None => String::new(),
        }
    }
}

/// Name fields after the given-name and surname errors, before layout.
struct Parts {
    first: String,
    second: Option<String>,
    s1: String,
    s2: Option<String>,
}

fn name_parts<R: Rng>(
    row: &mut Row<'_, R>,
    p: &Person,
    source: usize,
    event_date: NaiveDate,
) -> Parts {
    let prof = *row.prof;
    let mut first = p.first.to_string();
    let mut second = p.second.map(str::to_string);
    if row.hit(prof.nickname) {
        if let Some(n) = lookup(NICKNAMES, p.first) {
            first = n.to_string();
        } else if let Some(n) = p.second.and_then(|s| lookup(NICKNAMES, s)) {
            // "María Guadalupe" becomes plain "Lupe".
            first = n.to_string();
            second = None;
        }
    }
    if source == US
        && row.hit(prof.anglicise)
        && let Some(a) = lookup(ANGLICISED, &first)
    {
        first = a.to_string();
    }
    if first == "María" && second.is_some() && row.hit(prof.ma_abbrev) {
        first = if row.rng.random_bool(0.7) {
            "Ma."
        } else {
            "Ma"
        }
        .to_string();
    }
    if second.is_some() && row.hit(prof.drop_second_given) {
        second = None;
    }
    let s1 = p.surname1.to_string();
    let mut s2 = p.surname2.map(str::to_string);
    if s2.is_some() && row.hit(prof.drop_surname2) {
        s2 = None;
    }
    // Married Guatemalan women may add "de <husband's surname>".
    if source == GT
        && p.female
        && p.age_at(event_date) >= 18
        && row.rng.random_bool(0.3)
        && let Some(m) = p.married
    {
        s2 = Some(match s2 {
            Some(s) => format!("{s} de {m}"),
            None => format!("de {m}"),
        });
    }
    let mut parts = Parts {
        first,
        second,
        s1,
        s2,
    };
    for field in 0..4 {
        if row.hit(prof.typo) {
            let target = match field {
                0 => Some(&mut parts.first),
                1 => parts.second.as_mut(),
                2 => Some(&mut parts.s1),
                _ => parts.s2.as_mut(),
            };
            if let Some(t) = target {
                *t = typo(row.rng, t);
            }
        }
    }
    if row.hit(prof.confusion) {
        let field = row.rng.random_range(0..4);
        let target = match field {
            0 => Some(&mut parts.first),
            1 => parts.second.as_mut(),
            2 => Some(&mut parts.s1),
            _ => parts.s2.as_mut(),
        };
        if let Some(t) = target
            && let Some(c) = confuse(row.rng, t)
        {
            *t = c;
        }
    }
    parts
}

fn nationality(p: &Person, source: usize, claims_mexican: bool) -> String {
    let nat = if claims_mexican { Nat::Mx } else { p.nat };
    match source {
        US => match nat {
            Nat::Mx => "MEXICO",
            Nat::Gt => "GUATEMALA",
            Nat::Hn => "HONDURAS",
            Nat::Sv => "EL SALVADOR",
            Nat::Us => "UNITED STATES",
        }
        .to_string(),
        MX => match (nat, p.female) {
            (Nat::Mx, false) => "MEXICANO",
            (Nat::Mx, true) => "MEXICANA",
            (Nat::Gt, false) => "GUATEMALTECO",
            (Nat::Gt, true) => "GUATEMALTECA",
            (Nat::Hn, false) => "HONDUREÑO",
            (Nat::Hn, true) => "HONDUREÑA",
            (Nat::Sv, false) => "SALVADOREÑO",
            (Nat::Sv, true) => "SALVADOREÑA",
            (Nat::Us, _) => "ESTADOUNIDENSE",
        }
        .to_string(),
        _ => match nat {
            Nat::Mx => "México",
            Nat::Gt => "Guatemala",
            Nat::Hn => "Honduras",
            Nat::Sv => "El Salvador",
            Nat::Us => "Estados Unidos",
        }
        .to_string(),
    }
}

/// What a row needs besides the person: the event it records and the run's noise multiplier.
pub struct Context<'a> {
    pub event: &'a Event,
    pub noise: f64,
}

/// Renders one row; the record id (column 0) is left empty for the writer to fill.
pub fn render<R: Rng>(rng: &mut R, p: &Person, source: usize, ctx: &Context<'_>) -> Vec<String> {
    let prof = profile(source);
    let mut row = Row {
        rng,
        prof,
        k: ctx.noise,
    };
    let ev = ctx.event;
    let parts = name_parts(&mut row, p, source, ev.date);
    let upper = row.rng.random_bool(prof.upper);
    let strip = row.hit(prof.strip_accents);
    let dob = row.dob(p.dob, source);
    let sex_unknown = row.hit(prof.sex_unknown);
    let flip = row.hit(prof.sex_flip);
    let female = p.female != flip;
    let claims_mx = p.nat != Nat::Mx && p.nat != Nat::Us && row.hit(prof.claims_mexican);
    let nat = nationality(p, source, claims_mx);
    let phone = row.phone(p, source);
    let event_date = fmt_date(ev.date, source);
    match source {
        US => {
            let mut first = parts.first.clone();
            let mut middle = parts.second.clone().unwrap_or_default();
            let mut s1 = parts.s1.clone();
            // Particles: "DE LA CRUZ", "DELACRUZ" or just "CRUZ".
            if s1.starts_with("de ") || s1.starts_with("del ") {
                let x: f64 = row.rng.random();
                if x < 0.05 {
                    s1 = s1.replace(' ', "");
                } else if x < 0.15 {
                    s1 = s1.rsplit(' ').next().unwrap_or(&s1).to_string();
                }
            }
            let mut last = s1.clone();
            let mut moved_s2 = false;
            if let Some(s2) = &parts.s2 {
                let x: f64 = row.rng.random();
                if x < 0.30 {
                    // Second surname dropped.
                } else if !(0.68..0.90).contains(&x) {
                    last = format!("{s1} {s2}");
                } else if x < 0.80 {
                    last = format!("{s1}-{s2}");
                } else {
                    middle = if middle.is_empty() {
                        s2.clone()
                    } else {
                        format!("{middle} {s2}")
                    };
                    moved_s2 = true;
                }
            }
            if !moved_s2 && !middle.is_empty() && row.rng.random_bool(0.12) {
                first = format!("{first} {middle}");
                middle.clear();
            }
            let mut notes: Vec<String> = Vec::new();
            if p.junior {
                let x: f64 = row.rng.random();
                if x < 0.25 {
                    last.push_str(" JR");
                } else if x < 0.4 {
                    notes.push("JR".into());
                }
            }
            if p.senior && row.rng.random_bool(0.1) {
                notes.push("SR".into());
            }
            if row.hit(prof.swap_name_surname) {
                std::mem::swap(&mut first, &mut last);
            }
            match ev.kind {
                "family" => notes.push("FAMILY UNIT".into()),
                "group" | "crossing" if ev.size >= 3 && row.rng.random_bool(0.5) => {
                    notes.push(format!("GROUP OF {}", ev.size))
                }
                _ => {}
            }
            if ev.kind == "single" && p.age_at(ev.date) < 18 {
                notes.push("UAC".into());
            }
            match p.role {
                Role::Guide if row.rng.random_bool(0.3) => notes.push("FOOT GUIDE".into()),
                Role::Driver if row.rng.random_bool(0.4) => notes.push("DRIVER".into()),
                Role::Victim if row.rng.random_bool(0.15) => {
                    notes.push("POSSIBLE TIP VICTIM".into())
                }
                _ => {}
            }
            let sex = if sex_unknown {
                "U"
            } else if female {
                "F"
            } else {
                "M"
            };
            let a_number = match &p.a_number {
                Some(a) if p.nat != Nat::Us && row.rng.random_bool(0.55) => {
                    let mut a = a.clone();
                    if row.hit(0.01) {
                        a = typo_digit(row.rng, &a);
                    }
                    match row.rng.random_range(0..4) {
                        0 => format!("A{a}"),
                        1 => format!("A-{}-{}-{}", &a[0..3], &a[3..6], &a[6..]),
                        2 => format!("{} {} {}", &a[0..3], &a[3..6], &a[6..]),
                        _ => a,
                    }
                }
                _ => String::new(),
            };
            vec![
                String::new(),
                row.case(upper, strip, &first),
                row.case(upper, strip, &middle),
                row.case(upper, strip, &last),
                dob,
                sex.into(),
                nat,
                phone,
                a_number,
                ev.id.clone(),
                event_date,
                ev.place.to_string(),
                notes.join("; "),
            ]
        }
        MX => {
            let mut nombres = match &parts.second {
                Some(s) => format!("{} {s}", parts.first),
                None => parts.first.clone(),
            };
            let mut s1 = parts.s1.clone();
            let mut s2 = parts.s2.clone().unwrap_or_default();
            if !s2.is_empty() && row.hit(prof.swap_surnames) {
                std::mem::swap(&mut s1, &mut s2);
            }
            if row.hit(prof.swap_name_surname) {
                std::mem::swap(&mut nombres, &mut s1);
            }
            let sex = if female { "M" } else { "H" };
            let curp = match &p.curp {
                Some(c)
                    if row
                        .rng
                        .random_bool(if p.nat == Nat::Mx { 0.7 } else { 0.9 }) =>
                {
                    c.clone()
                }
                _ => String::new(),
            };
            let place_upper = upper && row.rng.random_bool(0.5);
            let place = row.case(place_upper, strip, ev.place);
            vec![
                String::new(),
                row.case(upper, strip, &nombres),
                row.case(upper, strip, &s1),
                row.case(upper, strip, &s2),
                dob,
                sex.into(),
                row.case(true, strip, &nat),
                curp,
                phone,
                ev.id.clone(),
                event_date,
                place,
            ]
        }
        _ => {
            let mut first = parts.first.clone();
            let second = parts.second.clone().unwrap_or_default();
            let mut s1 = parts.s1.clone();
            let mut s2 = parts.s2.clone().unwrap_or_default();
            if !s2.is_empty() && row.hit(prof.swap_surnames) {
                std::mem::swap(&mut s1, &mut s2);
            }
            if row.hit(prof.swap_name_surname) {
                std::mem::swap(&mut first, &mut s1);
            }
            let sex = if sex_unknown {
                ""
            } else if female {
                "F"
            } else if row.rng.random_bool(0.05) {
                "H"
            } else {
                "M"
            };
            let dpi = match &p.dpi {
                Some(d) if row.rng.random_bool(0.85) => {
                    if row.rng.random_bool(0.3) {
                        format!("{} {} {}", &d[0..4], &d[4..9], &d[9..])
                    } else {
                        d.clone()
                    }
                }
                _ => String::new(),
            };
            let nat_text = row.case(upper, strip, &nat);
            vec![
                String::new(),
                row.case(upper, strip, &first),
                row.case(upper, strip, &second),
                row.case(upper, strip, &s1),
                row.case(upper, strip, &s2),
                dob,
                sex.into(),
                nat_text,
                dpi,
                phone,
                ev.id.clone(),
                event_date,
                ev.place.to_string(),
            ]
        }
    }
}

/// One digit of `s` changed.
fn typo_digit<R: Rng>(rng: &mut R, s: &str) -> String {
    let mut b: Vec<char> = s.chars().collect();
    if b.is_empty() {
        return s.to_string();
    }
    let i = rng.random_range(0..b.len());
    let d = b[i].to_digit(10).unwrap_or(0);
    b[i] = char::from_digit((d + rng.random_range(1..10)) % 10, 10).unwrap_or('0');
    b.into_iter().collect()
}
