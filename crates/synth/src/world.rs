//! One batch of the scenario: people in their travel units, which files each appears in, the
//! events (encounters, crossings, interceptions, safe-house raids) that put their records side by
//! side, and the planted networks. Rendering to rows happens in `render`.

use std::collections::BTreeMap;

use chrono::{Days, NaiveDate};
use rand::Rng;

use crate::ids::{self, Phone, Plate};
use crate::people::{Maker, Nat, Person, Role, pick_nat};

/// Source indices, also bit positions in a footprint.
pub const US: usize = 0;
pub const MX: usize = 1;
pub const GT: usize = 2;

/// Which files a person appears in, as bits (1 = US, 2 = MX, 4 = GT), by nationality. Mexicans
/// rarely pass through Guatemala; Guatemalans are the most likely to be in all three.
pub fn footprint_table(nat: Nat) -> &'static [(u8, u32)] {
    match nat {
        Nat::Mx | Nat::Us => &[(1, 55), (2, 25), (3, 17), (5, 1), (6, 1), (7, 1)],
        Nat::Gt => &[(1, 35), (2, 10), (4, 22), (3, 10), (5, 8), (6, 7), (7, 8)],
        Nat::Hn | Nat::Sv => &[(1, 45), (2, 20), (4, 8), (3, 15), (5, 3), (6, 4), (7, 5)],
    }
}

/// The expected share of migrants with each footprint (1..=7), given the nationality mix.
pub fn expected_footprints() -> [f64; 8] {
    let mut out = [0.0; 8];
    for (nat, w) in crate::people::NAT_MIX {
        let table = footprint_table(nat);
        let total: u32 = table.iter().map(|(_, x)| x).sum();
        for (mask, x) in table {
            out[*mask as usize] += w * f64::from(*x) / f64::from(total);
        }
    }
    out
}

/// Footprint name, e.g. "US+MX".
pub fn footprint_name(mask: u8) -> String {
    let mut parts = Vec::new();
    for (bit, name) in [(1, "US"), (2, "MX"), (4, "GT")] {
        if mask & bit != 0 {
            parts.push(name);
        }
    }
    parts.join("+")
}

fn pick_footprint<R: Rng>(rng: &mut R, nat: Nat) -> u8 {
    let table = footprint_table(nat);
    let total: u32 = table.iter().map(|(_, x)| x).sum();
    let mut x = rng.random_range(0..total);
    for (mask, w) in table {
        if x < *w {
            return *mask;
        }
        x -= w;
    }
    1
}

/// Extra records (beyond the first) per source: repeat encounters.
fn extra_records<R: Rng>(rng: &mut R, source: usize) -> usize {
    let x: f64 = rng.random();
    match source {
        US => match x {
            x if x < 0.62 => 0,
            x if x < 0.84 => 1,
            x if x < 0.93 => 2,
            x if x < 0.98 => 3,
            _ => 4,
        },
        MX => usize::from(x >= 0.85),
        _ => usize::from(x >= 0.92),
    }
}

/// An event records took part in.
#[derive(Debug, Clone)]
pub struct Event {
    pub source: usize,
    pub id: String,
    pub date: NaiveDate,
    pub place: &'static str,
    /// single, family, group, crossing, departure, interception, safe_house, repeat, member.
    pub kind: &'static str,
    pub network: Option<u32>,
    pub size: u32,
}

/// One record to be: a person appearing in a source at an event.
#[derive(Debug, Clone, Copy)]
pub struct App {
    pub person: u32,
    pub source: usize,
    pub event: u32,
}

/// A payment from one record's person to another's account.
#[derive(Debug, Clone)]
pub struct Transfer {
    pub sender: u32,
    pub receiver: u32,
    pub account: String,
    pub amount: u32,
    pub date: NaiveDate,
    pub network: Option<u32>,
}

/// A vehicle seen with a driver's record.
#[derive(Debug, Clone)]
pub struct Vehicle {
    pub app: u32,
    pub plate: Plate,
}

/// A planted smuggling network (indices are local to the batch).
#[derive(Debug, Clone)]
pub struct Network {
    pub gid: u32,
    pub organiser: u32,
    pub recruiters: Vec<u32>,
    pub guides: Vec<u32>,
    pub drivers: Vec<u32>,
    pub keepers: Vec<u32>,
    pub victims: Vec<u32>,
    pub phones: Vec<Phone>,
    pub plates: Vec<(Plate, u32)>,
    pub accounts: Vec<String>,
    places: [Vec<&'static str>; 3],
    start: NaiveDate,
    end: NaiveDate,
    convoy: Option<Convoy>,
    raids: Vec<u32>,
    pub migrants: u32,
    pub convoys: u32,
}

#[derive(Debug, Clone, Copy)]
struct Convoy {
    dates: [NaiveDate; 3],
    remaining: u32,
    events: [Option<u32>; 3],
}

/// Counters carried from batch to batch so ids stay unique.
#[derive(Debug, Clone, Default)]
pub struct Counters {
    pub events: [u64; 3],
    pub networks: u32,
}

/// Counts of the hard negatives planted.
#[derive(Debug, Clone, Copy, Default, serde::Serialize)]
pub struct HardNegatives {
    pub families: usize,
    pub father_son_pairs: usize,
    pub twin_pairs: usize,
    pub common_name_clusters: usize,
    pub common_name_people: usize,
}

/// Everything generated for one batch.
pub struct Batch {
    pub persons: Vec<Person>,
    pub events: Vec<Event>,
    pub apps: Vec<App>,
    pub networks: Vec<Network>,
    pub transfers: Vec<Transfer>,
    pub vehicles: Vec<Vehicle>,
    pub hard: HardNegatives,
}

/// A group of people generated together who share a footprint and first events.
struct Unit {
    members: Vec<u32>,
    footprint: u8,
    trip: NaiveDate,
    network: Option<usize>,
    kind: &'static str,
}

pub struct Builder<'a, R: Rng> {
    rng: &'a mut R,
    maker: &'a Maker<'a>,
    counters: &'a mut Counters,
    start: NaiveDate,
    next_id: u64,
    persons: Vec<Person>,
    units: Vec<Unit>,
    events: Vec<Event>,
    apps: Vec<App>,
    networks: Vec<Network>,
    open_groups: BTreeMap<(usize, i64), (u32, u32)>,
    hard: HardNegatives,
    /// Ages of new people are measured on this date (their unit's trip, or a network's start),
    /// so nobody is born after their own records.
    reference: NaiveDate,
}

/// Event id formats per source.
fn event_id(source: usize, n: u64) -> String {
    match source {
        US => format!("E{n:010}"),
        MX => format!("EV-{n:08}"),
        _ => format!("GT-EV-{n:08}"),
    }
}

impl<'a, R: Rng> Builder<'a, R> {
    pub fn new(
        rng: &'a mut R,
        maker: &'a Maker<'a>,
        counters: &'a mut Counters,
        first_id: u64,
    ) -> Self {
        Builder {
            rng,
            maker,
            counters,
            start: NaiveDate::from_ymd_opt(2019, 1, 1).unwrap_or(maker.today),
            next_id: first_id,
            persons: Vec::new(),
            units: Vec::new(),
            events: Vec::new(),
            apps: Vec::new(),
            networks: Vec::new(),
            open_groups: BTreeMap::new(),
            hard: HardNegatives::default(),
            reference: maker.today,
        }
    }

    fn add(&mut self, mut p: Person) -> u32 {
        p.id = self.next_id;
        self.next_id += 1;
        self.persons.push(p);
        (self.persons.len() - 1) as u32
    }

    fn new_person(&mut self, nat: Nat, female: bool, min_age: u32, max_age: u32) -> Person {
        let dob = self.maker.dob(self.rng, min_age, max_age, self.reference);
        self.maker.person(self.rng, 0, nat, female, dob)
    }

    fn relate(&mut self, a: u32, rel: &'static str, b: u32) {
        let bid = self.persons[b as usize].id;
        self.persons[a as usize].relations.push((rel, bid));
    }

    /// A date uniformly between `from` and `to`.
    fn date_between(&mut self, from: NaiveDate, to: NaiveDate) -> NaiveDate {
        let span = (to - from).num_days().max(1) as u64;
        from.checked_add_days(Days::new(self.rng.random_range(0..span)))
            .unwrap_or(from)
    }

    fn plus_days(&self, d: NaiveDate, days: u64) -> NaiveDate {
        d.checked_add_days(Days::new(days))
            .unwrap_or(d)
            .min(self.maker.today)
    }

    /// The dates a journey starting (in Guatemala) on `trip` reaches each source.
    fn journey(&mut self, trip: NaiveDate) -> [NaiveDate; 3] {
        let gap = self.rng.random_range(3..20);
        let mx = self.plus_days(trip, gap);
        let gap = self.rng.random_range(5..30);
        let us = self.plus_days(mx, gap);
        [us, mx, trip]
    }

    fn new_event(
        &mut self,
        source: usize,
        date: NaiveDate,
        place: &'static str,
        kind: &'static str,
        network: Option<u32>,
    ) -> u32 {
        self.counters.events[source] += 1;
        let id = event_id(source, self.counters.events[source]);
        self.events.push(Event {
            source,
            id,
            date,
            place,
            kind,
            network,
            size: 0,
        });
        (self.events.len() - 1) as u32
    }

    fn place(&mut self, source: usize) -> &'static str {
        let s = self.maker.samplers;
        match source {
            US => s.us_sectors.pick(self.rng),
            MX => s.mx_places.pick(self.rng),
            _ => s.gt_places.pick(self.rng),
        }
    }

    fn appear(&mut self, person: u32, source: usize, event: u32) {
        self.events[event as usize].size += 1;
        self.apps.push(App {
            person,
            source,
            event,
        });
    }

    // ---- networks -------------------------------------------------------------------------

    fn member(&mut self, nat: Nat, role: Role, min_age: u32, max_age: u32, gid: u32) -> u32 {
        let female = role != Role::Driver && role != Role::Guide && self.rng.random_bool(0.2);
        let mut p = self.new_person(nat, female, min_age, max_age);
        p.role = role;
        p.network = Some(gid);
        p.unit_kind = "network";
        self.add(p)
    }

    /// Plants one network: its members, phones, vehicles, accounts and routes.
    pub fn plant_network(&mut self) -> u32 {
        let gid = self.counters.networks;
        self.counters.networks += 1;
        let nat_of = |rng: &mut R, table: &[(Nat, u32)]| {
            let total: u32 = table.iter().map(|(_, w)| w).sum();
            let mut x = rng.random_range(0..total);
            for (n, w) in table {
                if x < *w {
                    return *n;
                }
                x -= w;
            }
            table[0].0
        };
        let latest = self
            .maker
            .today
            .checked_sub_days(Days::new(400))
            .unwrap_or(self.maker.today);
        let start = self.date_between(self.start, latest.max(self.start));
        let length = self.rng.random_range(365..1100);
        let end = self.plus_days(start, length);
        self.reference = start;
        let org_nat = nat_of(self.rng, &[(Nat::Mx, 5), (Nat::Gt, 4), (Nat::Hn, 1)]);
        let organiser = self.member(org_nat, Role::Organiser, 30, 58, gid);
        let mut recruiters = Vec::new();
        for _ in 0..self.rng.random_range(2..5) {
            let n = nat_of(self.rng, &[(Nat::Gt, 6), (Nat::Hn, 3), (Nat::Sv, 1)]);
            recruiters.push(self.member(n, Role::Recruiter, 24, 52, gid));
        }
        let mut guides = Vec::new();
        for _ in 0..self.rng.random_range(2..5) {
            let n = nat_of(self.rng, &[(Nat::Mx, 7), (Nat::Gt, 3)]);
            guides.push(self.member(n, Role::Guide, 18, 40, gid));
        }
        let mut drivers = Vec::new();
        for _ in 0..self.rng.random_range(1..4) {
            let n = nat_of(self.rng, &[(Nat::Mx, 3), (Nat::Us, 1)]);
            drivers.push(self.member(n, Role::Driver, 18, 45, gid));
        }
        let mut keepers = Vec::new();
        for _ in 0..self.rng.random_range(1..3) {
            keepers.push(self.member(Nat::Mx, Role::SafeHouseKeeper, 25, 58, gid));
        }

        // Phones: two hub numbers the organiser uses — one the recruiters (Guatemala side) also
        // call from, one the guides, drivers and keepers (Mexico/US side) use — plus a few of the
        // members' own work numbers. The organiser is the only person on both hubs, which is what
        // makes them a broker in the record graph.
        let hub_gt = ids::make_phone(self.rng, if org_nat == Nat::Mx { "MX" } else { "GT" });
        let hub_mx = ids::make_phone(self.rng, "MX");
        let mut phones = vec![hub_gt.clone(), hub_mx.clone()];
        self.persons[organiser as usize].work_phone = Some(hub_gt.clone());
        self.persons[organiser as usize].contact_phone = Some(hub_mx.clone());
        for &r in &recruiters {
            let ph = if self.rng.random_bool(0.5) {
                hub_gt.clone()
            } else {
                let c = self.persons[r as usize].nat.code();
                let own = ids::make_phone(self.rng, if c == "SV" || c == "HN" { c } else { "GT" });
                phones.push(own.clone());
                own
            };
            self.persons[r as usize].work_phone = Some(ph);
        }
        for &m in guides.iter().chain(&drivers).chain(&keepers) {
            let ph = if self.rng.random_bool(0.5) {
                hub_mx.clone()
            } else {
                let own = ids::make_phone(self.rng, "MX");
                phones.push(own.clone());
                own
            };
            self.persons[m as usize].work_phone = Some(ph);
        }
        let mut plates = Vec::new();
        for &d in &drivers {
            for _ in 0..self.rng.random_range(1..3) {
                plates.push((ids::make_plate(self.rng), d));
            }
        }
        let accounts = (0..self.rng.random_range(1..4))
            .map(|_| ids::make_account(self.rng))
            .collect();
        let places = [
            (0..2).map(|_| self.place(US)).collect(),
            (0..2).map(|_| self.place(MX)).collect(),
            (0..2).map(|_| self.place(GT)).collect(),
        ];
        let mut net = Network {
            gid,
            organiser,
            recruiters,
            guides,
            drivers,
            keepers,
            victims: Vec::new(),
            phones,
            plates,
            accounts,
            places,
            start,
            end,
            convoy: None,
            raids: Vec::new(),
            migrants: 0,
            convoys: 0,
        };
        // Safe-house raids: each keeper is found in one or two, with the victims held there.
        for k in net.keepers.clone() {
            for _ in 0..self.rng.random_range(1..3) {
                let date = self.date_between(net.start, net.end);
                let place = net.places[MX][self.rng.random_range(0..2)];
                let ev = self.new_event(MX, date, place, "safe_house", Some(gid));
                self.appear(k, MX, ev);
                net.raids.push(ev);
            }
        }
        // The organiser shows up rarely, in ordinary encounters of their own.
        let when = self.date_between(net.start, net.end);
        let place = net.places[GT][0];
        let ev = self.new_event(GT, when, place, "member", Some(gid));
        self.appear(organiser, GT, ev);
        let when = self.date_between(net.start, net.end);
        let place = net.places[MX][0];
        let ev = self.new_event(MX, when, place, "member", Some(gid));
        self.appear(organiser, MX, ev);
        self.networks.push(net);
        // Trafficking victims: young women and girls recruited by the network.
        let n_victims = self.rng.random_range(2..7);
        let idx = self.networks.len() - 1;
        for _ in 0..n_victims {
            let nat = nat_of(self.rng, &[(Nat::Gt, 5), (Nat::Hn, 3), (Nat::Sv, 2)]);
            let mut p = self.new_person(nat, true, 14, 24);
            p.role = Role::Victim;
            p.travelled_with = Some(gid);
            let v = self.add(p);
            self.networks[idx].victims.push(v);
            let mut footprint = 2u8;
            if self.rng.random_bool(0.4) {
                footprint |= 1;
            }
            if self.rng.random_bool(0.3) {
                footprint |= 4;
            }
            let trip = self.date_between(self.networks[idx].start, self.networks[idx].end);
            self.units.push(Unit {
                members: vec![v],
                footprint,
                trip,
                network: Some(idx),
                kind: "victim",
            });
        }
        gid
    }

    // ---- migrant units ---------------------------------------------------------------------

    /// Adds migrant units until the batch holds `target` people.
    pub fn migrants(&mut self, target: usize) {
        while self.persons.len() < target {
            let room = target - self.persons.len();
            self.next_trip();
            let x: f64 = self.rng.random();
            let before = self.persons.len();
            if room < 2 || x < 0.58 {
                self.single();
            } else if x < 0.85 {
                self.family(room);
            } else if x < 0.90 {
                self.father_son();
            } else if x < 0.93 {
                self.twins();
            } else {
                self.common_name(room);
            }
            debug_assert!(self.persons.len() > before);
        }
    }

    /// Picks the next unit's trip date and measures ages from it.
    fn next_trip(&mut self) -> NaiveDate {
        let latest = self
            .maker
            .today
            .checked_sub_days(Days::new(60))
            .unwrap_or(self.maker.today);
        self.reference = self.date_between(self.start, latest);
        self.reference
    }

    fn unit(&mut self, members: Vec<u32>, kind: &'static str) {
        let nat = self.persons[members[0] as usize].nat;
        let footprint = pick_footprint(self.rng, nat);
        let trip = self.reference;
        for &m in &members {
            self.persons[m as usize].unit_kind = kind;
        }
        self.units.push(Unit {
            members,
            footprint,
            trip,
            network: None,
            kind,
        });
    }

    fn single(&mut self) {
        let nat = pick_nat(self.rng);
        let female = self.rng.random_bool(0.3);
        // One in ten travels alone as a minor.
        let p = if self.rng.random_bool(0.1) {
            self.new_person(nat, female, 14, 17)
        } else {
            self.new_person(nat, female, 18, 50)
        };
        let i = self.add(p);
        self.unit(vec![i], "single");
    }

    fn family(&mut self, room: usize) {
        let nat = pick_nat(self.rng);
        let father = self.new_person(nat, false, 24, 50);
        let mut mother = self.new_person(nat, true, 20, 45);
        mother.married = Some(father.surname1);
        let n_children = self.rng.random_range(1..4usize);
        let shape: f64 = self.rng.random();
        let (with_father, with_mother) = match shape {
            s if s < 0.45 => (false, true),
            s if s < 0.70 => (true, false),
            _ => (true, true),
        };
        let adults = usize::from(with_father) + usize::from(with_mother);
        let n_children = n_children.min(room.saturating_sub(adults)).max(1);
        let youngest_parent_age = father
            .age_at(self.reference)
            .min(mother.age_at(self.reference));
        let max_child_age = (youngest_parent_age - 17).clamp(1, 17) as u32;
        let phone = ids::make_phone(self.rng, if nat == Nat::Mx { "MX" } else { nat.code() });
        let mut members = Vec::new();
        let fi = with_father.then(|| self.add(father.clone()));
        let mi = with_mother.then(|| self.add(mother.clone()));
        members.extend(fi);
        members.extend(mi);
        let mut children = Vec::new();
        for _ in 0..n_children {
            let female = self.rng.random_bool(0.5);
            let mut c = self.new_person(nat, female, 0, max_child_age);
            c.surname1 = father.surname1;
            c.surname2 = Some(mother.surname1);
            self.maker.fill_ids(self.rng, &mut c);
            let ci = self.add(c);
            children.push(ci);
            members.push(ci);
        }
        // Relatives share the household phone: a hard negative on phone.
        for &m in &members {
            self.persons[m as usize].phones.insert(0, phone.clone());
        }
        for &c in &children {
            if let Some(f) = fi {
                self.relate(f, "father_of", c);
            }
            if let Some(m) = mi {
                self.relate(m, "mother_of", c);
            }
            for &d in &children {
                if c != d {
                    self.relate(c, "sibling_of", d);
                }
            }
        }
        if let (Some(f), Some(m)) = (fi, mi) {
            self.relate(f, "spouse_of", m);
            self.relate(m, "spouse_of", f);
        }
        self.hard.families += 1;
        self.unit(members, "family");
    }

    /// A father and his namesake son: same given names and first surname, often the same second
    /// surname too (common surnames make that likely), 20–35 years apart.
    fn father_son(&mut self) {
        let nat = pick_nat(self.rng);
        let mut father = self.new_person(nat, false, 42, 65);
        father.senior = true;
        let gap = self.rng.random_range(20..36u32);
        let son_age_max = (father.age_at(self.reference) as u32)
            .saturating_sub(gap)
            .max(18);
        let mut son = self.new_person(
            nat,
            false,
            son_age_max.saturating_sub(1).max(16),
            son_age_max,
        );
        son.first = father.first;
        son.second = father.second;
        son.surname1 = father.surname1;
        if self.rng.random_bool(0.4) {
            son.surname2 = father.surname2;
        }
        son.junior = true;
        self.maker.fill_ids(self.rng, &mut son);
        let f = self.add(father);
        let s = self.add(son);
        self.relate(f, "father_of", s);
        self.relate(s, "son_of", f);
        self.hard.father_son_pairs += 1;
        if self.rng.random_bool(0.5) {
            self.unit(vec![f, s], "father_son");
        } else {
            self.unit(vec![f], "father_son");
            self.unit(vec![s], "father_son");
        }
        // Both always reach the US file, where the second surname is often lost.
        let n = self.units.len();
        for u in &mut self.units[n.saturating_sub(2)..] {
            if u.members.contains(&f) || u.members.contains(&s) {
                u.footprint |= 1;
            }
        }
    }

    /// Twins: same surnames and birth date, different given names.
    fn twins(&mut self) {
        let nat = pick_nat(self.rng);
        let female = self.rng.random_bool(0.5);
        let a = self.new_person(nat, female, 14, 35);
        let other_female = if self.rng.random_bool(0.6) {
            female
        } else {
            !female
        };
        let mut b = self.new_person(nat, other_female, 14, 35);
        b.dob = a.dob;
        b.surname1 = a.surname1;
        b.surname2 = a.surname2;
        for _ in 0..5 {
            if b.first != a.first {
                break;
            }
            let (f, s) = self.maker.given(self.rng, nat, other_female);
            b.first = f;
            b.second = s;
        }
        b.phones = a.phones.clone();
        self.maker.fill_ids(self.rng, &mut b);
        b.phones = a.phones.clone();
        let ai = self.add(a);
        let bi = self.add(b);
        self.relate(ai, "twin_of", bi);
        self.relate(bi, "twin_of", ai);
        self.hard.twin_pairs += 1;
        self.unit(vec![ai, bi], "twins");
    }

    /// Unrelated people who share one of the most common names, born close together.
    fn common_name(&mut self, room: usize) {
        let nat = pick_nat(self.rng);
        let female = self.rng.random_bool(0.3);
        let n = self.rng.random_range(2..5usize).min(room);
        let s = self.maker.samplers;
        let first = s.first_names(nat, female).pick_top(self.rng, 2);
        let surname1 = s.surnames(nat).pick_top(self.rng, 3);
        let surname2 = s.surnames(nat).pick_top(self.rng, 4);
        let base = self.maker.dob(self.rng, 18, 45, self.reference);
        let mut ids = Vec::new();
        for _ in 0..n {
            let shift = if self.rng.random_bool(0.3) {
                self.rng.random_range(0..200)
            } else {
                self.rng.random_range(0..1100)
            };
            let dob = base.checked_sub_days(Days::new(shift)).unwrap_or(base);
            let mut p = self.maker.person(self.rng, 0, nat, female, dob);
            p.first = first;
            p.surname1 = surname1;
            if self.rng.random_bool(0.5) {
                p.surname2 = Some(surname2);
            }
            self.maker.fill_ids(self.rng, &mut p);
            ids.push(self.add(p));
        }
        for &a in &ids {
            for &b in &ids {
                if a != b {
                    self.relate(a, "same_name_as", b);
                }
            }
        }
        self.hard.common_name_clusters += 1;
        self.hard.common_name_people += n;
        for i in ids {
            self.unit(vec![i], "common_name");
            if let Some(u) = self.units.last_mut() {
                u.footprint |= 1;
            }
        }
    }

    // ---- events ----------------------------------------------------------------------------

    /// Sends some units with the networks, then turns every unit's footprint into records at
    /// events.
    pub fn assign_events(&mut self) {
        let n_nets = self.networks.len();
        if n_nets > 0 {
            for u in 0..self.units.len() {
                if self.units[u].network.is_some() {
                    continue;
                }
                let nat = self.persons[self.units[u].members[0] as usize].nat;
                let p = if nat == Nat::Mx { 0.12 } else { 0.30 };
                if self.rng.random_bool(p) {
                    let net = self.rng.random_range(0..n_nets);
                    // Nobody travels before they are born (or as a newborn).
                    let youngest = self.units[u]
                        .members
                        .iter()
                        .map(|&m| self.persons[m as usize].dob)
                        .max();
                    if youngest.is_some_and(|d| {
                        d.checked_add_days(Days::new(90)).unwrap_or(d) > self.networks[net].start
                    }) {
                        continue;
                    }
                    self.units[u].network = Some(net);
                    let (start, end) = (self.networks[net].start, self.networks[net].end);
                    self.units[u].trip = self.date_between(start, end);
                    let gid = self.networks[net].gid;
                    for &m in &self.units[u].members.clone() {
                        let person = &mut self.persons[m as usize];
                        person.travelled_with = Some(gid);
                        // Some give the recruiter's number as their contact.
                        if self.rng.random_bool(0.3) {
                            let r = self.networks[net].recruiters[self
                                .rng
                                .random_range(0..self.networks[net].recruiters.len())];
                            self.persons[m as usize].contact_phone =
                                self.persons[r as usize].work_phone.clone();
                        }
                    }
                }
            }
        }
        for u in 0..self.units.len() {
            let unit_net = self.units[u].network;
            let members = self.units[u].members.clone();
            let footprint = self.units[u].footprint;
            let kind = self.units[u].kind;
            let dates = match unit_net {
                Some(net) => {
                    self.networks[net].migrants += members.len() as u32;
                    self.join_convoy(net, members.len() as u32)
                }
                None => {
                    let trip = self.units[u].trip;
                    self.journey(trip)
                }
            };
            for source in [GT, MX, US] {
                if footprint & (1 << source) == 0 {
                    continue;
                }
                let ev = match unit_net {
                    Some(net) => self.network_event(net, source, kind == "victim"),
                    None => self.plain_event(source, dates[source], members.len()),
                };
                for &m in &members {
                    self.appear(m, source, ev);
                }
                // Repeat encounters, each its own event, later in time.
                for &m in &members {
                    let mut last = self.events[ev as usize].date;
                    for _ in 0..extra_records(self.rng, source) {
                        let gap = self.rng.random_range(20..400);
                        let when = self.plus_days(last, gap);
                        if when >= self.maker.today {
                            break;
                        }
                        let place = self.place(source);
                        let rev = self.new_event(source, when, place, "repeat", None);
                        self.appear(m, source, rev);
                        last = when;
                    }
                }
            }
        }
        self.ensure_members_appear();
    }

    fn plain_event(&mut self, source: usize, date: NaiveDate, size: usize) -> u32 {
        if size > 1 {
            let place = self.place(source);
            return self.new_event(source, date, place, "family", None);
        }
        // One in five lone travellers is caught in a group with strangers that week.
        if self.rng.random_bool(0.2) {
            let week = (date - self.start).num_days() / 7;
            if let Some((ev, left)) = self.open_groups.get_mut(&(source, week)) {
                let ev = *ev;
                *left -= 1;
                if *left == 0 {
                    self.open_groups.remove(&(source, week));
                }
                return ev;
            }
            let place = self.place(source);
            let ev = self.new_event(source, date, place, "group", None);
            let cap = self.rng.random_range(1..8);
            self.open_groups.insert((source, week), (ev, cap));
            return ev;
        }
        let place = self.place(source);
        self.new_event(source, date, place, "single", None)
    }

    /// The dates of the network's current convoy, opening a new one when it is full.
    fn join_convoy(&mut self, net: usize, size: u32) -> [NaiveDate; 3] {
        let needs_new = match &self.networks[net].convoy {
            Some(c) => c.remaining < size,
            None => true,
        };
        if needs_new {
            let (start, end) = (self.networks[net].start, self.networks[net].end);
            let trip = self.date_between(start, end);
            let dates = self.journey(trip);
            let remaining = self.rng.random_range(8..31);
            self.networks[net].convoy = Some(Convoy {
                dates,
                remaining,
                events: [None; 3],
            });
            self.networks[net].convoys += 1;
        }
        match &mut self.networks[net].convoy {
            Some(c) => {
                c.remaining = c.remaining.saturating_sub(size);
                c.dates
            }
            None => self.journey(self.maker.today),
        }
    }

    /// The convoy's event in `source`, created (with the members present) on first use. Victims
    /// in Mexico are found in safe-house raids instead.
    fn network_event(&mut self, net: usize, source: usize, victim: bool) -> u32 {
        let raids = &self.networks[net].raids;
        if source == MX && !raids.is_empty() && (victim || self.rng.random_bool(0.1)) {
            return raids[self.rng.random_range(0..raids.len())];
        }
        let existing = self.networks[net].convoy.and_then(|c| c.events[source]);
        if let Some(ev) = existing {
            return ev;
        }
        let date = self.networks[net]
            .convoy
            .map(|c| c.dates[source])
            .unwrap_or(self.maker.today);
        let place = self.networks[net].places[source][self.rng.random_range(0..2)];
        let gid = self.networks[net].gid;
        let kind = match source {
            US => "crossing",
            MX => "interception",
            _ => "departure",
        };
        let ev = self.new_event(source, date, place, kind, Some(gid));
        if let Some(c) = &mut self.networks[net].convoy {
            c.events[source] = Some(ev);
        }
        let n = &self.networks[net];
        let pick = |rng: &mut R, v: &[u32]| v[rng.random_range(0..v.len())];
        let mut present = Vec::new();
        match source {
            GT => {
                if self.rng.random_bool(0.6) {
                    present.push(pick(self.rng, &n.recruiters));
                }
            }
            MX => {
                if self.rng.random_bool(0.45) {
                    present.push(pick(self.rng, &n.drivers));
                }
                if self.rng.random_bool(0.3) {
                    present.push(pick(self.rng, &n.guides));
                }
            }
            _ => {
                if self.rng.random_bool(0.45) {
                    present.push(pick(self.rng, &n.guides));
                }
                if self.rng.random_bool(0.2) {
                    present.push(pick(self.rng, &n.drivers));
                }
            }
        }
        for m in present {
            self.appear(m, source, ev);
        }
        ev
    }

    /// Every member must be in at least one record, or nothing could find them.
    fn ensure_members_appear(&mut self) {
        let mut seen = vec![false; self.persons.len()];
        for a in &self.apps {
            seen[a.person as usize] = true;
        }
        for net in 0..self.networks.len() {
            let n = &self.networks[net];
            let mut missing: Vec<(u32, usize)> = Vec::new();
            for &r in &n.recruiters {
                missing.push((r, GT));
            }
            for &g in &n.guides {
                missing.push((g, US));
            }
            for &d in &n.drivers {
                missing.push((d, MX));
            }
            missing.retain(|(p, _)| !seen[*p as usize]);
            let gid = n.gid;
            for (p, source) in missing {
                let (start, end) = (self.networks[net].start, self.networks[net].end);
                let when = self.date_between(start, end);
                let place = self.networks[net].places[source][0];
                let ev = self.new_event(source, when, place, "member", Some(gid));
                self.appear(p, source, ev);
            }
        }
    }

    // ---- links: transfers and vehicles -----------------------------------------------------

    /// Payments to network accounts and vehicles seen with drivers, plus a few family
    /// remittances so that not every transfer points at a network.
    fn links(&mut self) -> (Vec<Transfer>, Vec<Vehicle>) {
        let mut by_person: Vec<Vec<u32>> = vec![Vec::new(); self.persons.len()];
        for (i, a) in self.apps.iter().enumerate() {
            by_person[a.person as usize].push(i as u32);
        }
        let mut transfers = Vec::new();
        let mut vehicles = Vec::new();
        for (net_idx, n) in self.networks.iter().enumerate() {
            let receivers: Vec<u32> = std::iter::once(n.organiser)
                .chain(n.recruiters.iter().copied())
                .collect();
            for u in self.units.iter().filter(|u| u.network == Some(net_idx)) {
                if !self.rng.random_bool(0.3) {
                    continue;
                }
                let payer = u.members[0];
                let Some(&sender) = by_person[payer as usize].first() else {
                    continue;
                };
                let receiver_person = if self.rng.random_bool(0.7) {
                    n.organiser
                } else {
                    receivers[self.rng.random_range(0..receivers.len())]
                };
                let Some(&receiver) = by_person[receiver_person as usize].first() else {
                    continue;
                };
                let date = self.events[self.apps[sender as usize].event as usize].date;
                let date = date
                    .checked_sub_days(Days::new(self.rng.random_range(1..30)))
                    .unwrap_or(date);
                transfers.push(Transfer {
                    sender,
                    receiver,
                    account: n.accounts[self.rng.random_range(0..n.accounts.len())].clone(),
                    amount: self.rng.random_range(60..300) * 50,
                    date,
                    network: Some(n.gid),
                });
            }
            for &d in &n.drivers {
                let plates: Vec<&Plate> = n
                    .plates
                    .iter()
                    .filter(|(_, owner)| *owner == d)
                    .map(|(p, _)| p)
                    .collect();
                for &app in &by_person[d as usize] {
                    if plates.is_empty() || !self.rng.random_bool(0.8) {
                        continue;
                    }
                    let plate = plates[self.rng.random_range(0..plates.len())].clone();
                    vehicles.push(Vehicle { app, plate });
                }
            }
        }
        // Family remittances between unrelated migrants' records: noise for the network graph.
        let plain: Vec<u32> = (0..self.persons.len() as u32)
            .filter(|&p| {
                self.persons[p as usize].role == Role::Migrant && !by_person[p as usize].is_empty()
            })
            .collect();
        if plain.len() > 1 {
            let n = plain.len() / 40;
            for _ in 0..n {
                let a = plain[self.rng.random_range(0..plain.len())];
                let b = plain[self.rng.random_range(0..plain.len())];
                if a == b {
                    continue;
                }
                let sender = by_person[a as usize][0];
                let receiver = by_person[b as usize][0];
                let date = self.events[self.apps[sender as usize].event as usize].date;
                transfers.push(Transfer {
                    sender,
                    receiver,
                    account: ids::make_account(self.rng),
                    amount: self.rng.random_range(2..30) * 50,
                    date,
                    network: None,
                });
            }
        }
        (transfers, vehicles)
    }

    pub fn finish(mut self) -> Batch {
        let (transfers, vehicles) = self.links();
        Batch {
            persons: self.persons,
            events: self.events,
            apps: self.apps,
            networks: self.networks,
            transfers,
            vehicles,
            hard: self.hard,
        }
    }
}
