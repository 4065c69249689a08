//! People: nationality, names drawn by frequency, birth dates, identifiers and phones, and the
//! units they travel in (alone, as a family, as twins, a father and his namesake son, or as
//! strangers who happen to share a very common name).

use chrono::{Datelike, Days, NaiveDate};
use rand::Rng;

use crate::ids::{self, Phone};
use crate::names::{self, Sampler};

/// Nationalities in the scenario. US citizens appear only as drivers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Nat {
    Mx,
    Gt,
    Hn,
    Sv,
    Us,
}

impl Nat {
    pub fn code(self) -> &'static str {
        match self {
            Nat::Mx => "MX",
            Nat::Gt => "GT",
            Nat::Hn => "HN",
            Nat::Sv => "SV",
            Nat::Us => "US",
        }
    }
}

/// A person's part in the scenario.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Role {
    Migrant,
    Victim,
    Organiser,
    Recruiter,
    Guide,
    Driver,
    SafeHouseKeeper,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Migrant => "migrant",
            Role::Victim => "victim",
            Role::Organiser => "organiser",
            Role::Recruiter => "recruiter",
            Role::Guide => "guide",
            Role::Driver => "driver",
            Role::SafeHouseKeeper => "safe_house_keeper",
        }
    }

    pub fn is_member(self) -> bool {
        !matches!(self, Role::Migrant | Role::Victim)
    }
}

/// One true person.
#[derive(Debug, Clone)]
pub struct Person {
    /// Global sequence number; the person id is `P` and this number.
    pub id: u64,
    pub nat: Nat,
    pub female: bool,
    pub first: &'static str,
    pub second: Option<&'static str>,
    pub surname1: &'static str,
    pub surname2: Option<&'static str>,
    /// A married woman's "de <husband's surname>", which Guatemalan records may add.
    pub married: Option<&'static str>,
    pub dob: NaiveDate,
    /// Namesake son ("JR") or father ("SR").
    pub junior: bool,
    pub senior: bool,
    /// Personal phones, oldest first.
    pub phones: Vec<Phone>,
    /// A phone used for network business, shared with other members.
    pub work_phone: Option<Phone>,
    /// A contact phone the person gives instead of their own (a relative's, or a smuggler's).
    pub contact_phone: Option<Phone>,
    pub curp: Option<String>,
    pub dpi: Option<String>,
    pub a_number: Option<String>,
    pub role: Role,
    /// Global network index of which the person is a member.
    pub network: Option<u32>,
    /// Global network index the person travelled with (migrants and victims).
    pub travelled_with: Option<u32>,
    /// (relation, other person's global id): "father_of", "mother_of", "sibling_of", "twin_of",
    /// "son_of", "daughter_of", "same_name_as".
    pub relations: Vec<(&'static str, u64)>,
    /// What kind of unit the person was generated in.
    pub unit_kind: &'static str,
}

impl Person {
    pub fn pid(&self) -> String {
        format!("P{:08}", self.id)
    }

    pub fn age_at(&self, d: NaiveDate) -> i32 {
        let mut age = d.year() - self.dob.year();
        if (d.month(), d.day()) < (self.dob.month(), self.dob.day()) {
            age -= 1;
        }
        age
    }
}

/// Frequency samplers, built once per run.
pub struct Samplers {
    pub surnames_mx: Sampler,
    pub surnames_gt: Sampler,
    pub surnames_ca: Sampler,
    pub male_mx: Sampler,
    pub female_mx: Sampler,
    pub male_gt: Sampler,
    pub female_gt: Sampler,
    pub male_ca: Sampler,
    pub female_ca: Sampler,
    pub male_second: Sampler,
    pub female_second: Sampler,
    pub us_sectors: Sampler,
    pub mx_places: Sampler,
    pub gt_places: Sampler,
    pub curp_states: Sampler,
}

impl Samplers {
    pub fn new() -> Samplers {
        Samplers {
            surnames_mx: Sampler::new(names::SURNAMES_MX),
            surnames_gt: Sampler::new(names::SURNAMES_GT),
            surnames_ca: Sampler::new(names::SURNAMES_CA),
            male_mx: Sampler::new(names::MALE_MX),
            female_mx: Sampler::new(names::FEMALE_MX),
            male_gt: Sampler::new(names::MALE_GT),
            female_gt: Sampler::new(names::FEMALE_GT),
            male_ca: Sampler::new(names::MALE_CA),
            female_ca: Sampler::new(names::FEMALE_CA),
            male_second: Sampler::new(names::MALE_SECOND),
            female_second: Sampler::new(names::FEMALE_SECOND),
            us_sectors: Sampler::new(names::US_SECTORS),
            mx_places: Sampler::new(names::MX_PLACES),
            gt_places: Sampler::new(names::GT_PLACES),
            curp_states: Sampler::new(ids::CURP_STATES),
        }
    }

    pub fn surnames(&self, nat: Nat) -> &Sampler {
        match nat {
            Nat::Mx | Nat::Us => &self.surnames_mx,
            Nat::Gt => &self.surnames_gt,
            Nat::Hn | Nat::Sv => &self.surnames_ca,
        }
    }

    pub fn first_names(&self, nat: Nat, female: bool) -> &Sampler {
        match (nat, female) {
            (Nat::Mx | Nat::Us, false) => &self.male_mx,
            (Nat::Mx | Nat::Us, true) => &self.female_mx,
            (Nat::Gt, false) => &self.male_gt,
            (Nat::Gt, true) => &self.female_gt,
            (_, false) => &self.male_ca,
            (_, true) => &self.female_ca,
        }
    }
}

impl Default for Samplers {
    fn default() -> Self {
        Samplers::new()
    }
}

/// Nationality mix of migrants: Mexico, Guatemala, Honduras, El Salvador.
pub const NAT_MIX: [(Nat, f64); 4] = [
    (Nat::Mx, 0.38),
    (Nat::Gt, 0.32),
    (Nat::Hn, 0.18),
    (Nat::Sv, 0.12),
];

pub fn pick_nat<R: Rng>(rng: &mut R) -> Nat {
    let x: f64 = rng.random();
    let mut acc = 0.0;
    for (n, w) in NAT_MIX {
        acc += w;
        if x < acc {
            return n;
        }
    }
    Nat::Sv
}

/// Builds people; holds the run's fixed settings.
pub struct Maker<'a> {
    pub samplers: &'a Samplers,
    pub today: NaiveDate,
}

impl Maker<'_> {
    /// A birth date for someone aged `min..=max` years on `at`.
    pub fn dob<R: Rng>(&self, rng: &mut R, min_age: u32, max_age: u32, at: NaiveDate) -> NaiveDate {
        let span = (max_age.saturating_sub(min_age) + 1) * 365;
        // Skewed young: most migrants are in their twenties.
        let u: f64 = rng.random();
        let days =
            min_age * 365 + (u.powf(1.5) * f64::from(span)) as u32 + rng.random_range(0..365);
        at.checked_sub_days(Days::new(u64::from(days.max(1))))
            .unwrap_or(at)
    }

    pub fn given<R: Rng>(
        &self,
        rng: &mut R,
        nat: Nat,
        female: bool,
    ) -> (&'static str, Option<&'static str>) {
        let first = self.samplers.first_names(nat, female).pick(rng);
        let p_second = match nat {
            _ if first == "María" || first == "José" => 0.85,
            Nat::Gt => 0.7,
            Nat::Mx => 0.55,
            Nat::Us => 0.3,
            _ => 0.6,
        };
        let second = rng.random_bool(p_second).then(|| {
            let s = if female {
                &self.samplers.female_second
            } else {
                &self.samplers.male_second
            };
            s.pick(rng)
        });
        (first, second.filter(|s| *s != first))
    }

    /// A new person with fresh names and identifiers.
    pub fn person<R: Rng>(
        &self,
        rng: &mut R,
        id: u64,
        nat: Nat,
        female: bool,
        dob: NaiveDate,
    ) -> Person {
        let (first, second) = self.given(rng, nat, female);
        let surnames = self.samplers.surnames(nat);
        let surname1 = surnames.pick(rng);
        let surname2 = (nat != Nat::Us).then(|| surnames.pick(rng));
        let mut p = Person {
            id,
            nat,
            female,
            first,
            second,
            surname1,
            surname2,
            married: None,
            dob,
            junior: false,
            senior: false,
            phones: Vec::new(),
            work_phone: None,
            contact_phone: None,
            curp: None,
            dpi: None,
            a_number: None,
            role: Role::Migrant,
            network: None,
            travelled_with: None,
            relations: Vec::new(),
            unit_kind: "single",
        };
        self.fill_ids(rng, &mut p);
        p
    }

    /// Identifiers and phones derived from the person's names and country. Called again after
    /// names change (relatives), so it starts from scratch.
    pub fn fill_ids<R: Rng>(&self, rng: &mut R, p: &mut Person) {
        let sex = if p.female { 'M' } else { 'H' };
        let given: Vec<&str> = std::iter::once(p.first).chain(p.second).collect();
        p.curp = match p.nat {
            Nat::Mx => {
                let state = self.samplers.curp_states.pick(rng);
                Some(ids::make_curp(
                    rng, p.surname1, p.surname2, &given, p.dob, sex, state,
                ))
            }
            // A few foreigners hold a temporary CURP (state "NE", born abroad).
            Nat::Gt | Nat::Hn | Nat::Sv if rng.random_bool(0.08) => Some(ids::make_curp(
                rng, p.surname1, p.surname2, &given, p.dob, sex, "NE",
            )),
            _ => None,
        };
        // DPIs are issued at 18; minors have none.
        p.dpi = (p.nat == Nat::Gt && p.age_at(self.today) >= 18).then(|| ids::make_dpi(rng));
        p.a_number = Some(ids::make_a_number(rng));
        let home = if p.nat == Nat::Us { "US" } else { p.nat.code() };
        let n_phones = if p.age_at(self.today) < 14 {
            0
        } else {
            [1, 1, 2, 2, 3][rng.random_range(0..5)]
        };
        p.phones = (0..n_phones)
            .map(|_| {
                // Some carry a Mexican SIM bought on the way.
                let c = if home != "MX" && home != "US" && rng.random_bool(0.2) {
                    "MX"
                } else {
                    home
                };
                ids::make_phone(rng, c)
            })
            .collect();
        // A relative in the United States is the contact number for many.
        p.contact_phone =
            (p.nat != Nat::Us && rng.random_bool(0.25)).then(|| ids::make_phone(rng, "US"));
    }
}
