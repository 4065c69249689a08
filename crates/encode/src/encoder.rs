//! The encoder a data holder runs: record in, [`EncodedRecord`] out, under keys derived from the
//! project secret. The secret itself is not kept; only the derived keys are, wiped on drop.

use enlace_model::Record;
use enlace_normalize::{IdKind, Identifier};
use rand::{RngCore, SeedableRng};
use rand_chacha::ChaCha12Rng;
use rayon::prelude::*;
use zeroize::Zeroize;

use crate::bloom::{BitVector, MAX_DRAWS, draw, set_positions};
use crate::encoded::{BlockToken, EncodedRecord, IdHash, leading_u64};
use crate::keys::{Key, KeyCheck, Purpose, derive};
use crate::memo::{Memo, MemoShelf};
use crate::schema::{Field, SaltSource, Schema, SchemaError};
use crate::secret::ProjectSecret;
use crate::tokens::{
    Decimal, blocking_input, date_key, event_days, for_each_text, for_each_token, qgrams, trim,
};
use crate::values::{ValueKey, remembers_values};

/// Where a field's tokens go, one at a time.
type Emit<'a> = &'a mut dyn FnMut(&[u8]);

/// A record's salt (see [`Encoder::salt_order`]): `None` when the schema does not salt,
/// `Some(None)` for a record without a birth year.
pub(crate) type SaltYear = Option<Option<i32>>;

/// Records a thread encodes at a time, in salt order.
pub(crate) const SALT_RUN: usize = 4096;

/// Identifier kinds that can be encoded, in a fixed order.
const ID_KINDS: [IdKind; 9] = [
    IdKind::Phone,
    IdKind::Curp,
    IdKind::DpiCui,
    IdKind::ANumber,
    IdKind::Passport,
    IdKind::Plate,
    IdKind::Account,
    IdKind::Other,
    IdKind::NationalId,
];

/// How one field is encoded: into its own filter, into the CLK, or both, from one hash stream.
struct FieldPlan {
    field: Field,
    key: Key,
    /// Index among the schema's field filters and positions per token there.
    filter: Option<(usize, u16)>,
    /// Positions per token in the CLK (0: not in the CLK).
    clk_k: u16,
}

/// Encodes records under one schema and secret.
pub struct Encoder {
    schema: Schema,
    key_check: KeyCheck,
    plans: Vec<FieldPlan>,
    id_keys: Vec<Key>,
    block_keys: Vec<Key>,
    flip_key: Key,
    reference_key: Key,
    event_key: Key,
}

impl std::fmt::Debug for Encoder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Encoder")
            .field("schema", &self.schema.id)
            .field("keys", &"<redacted>")
            .finish()
    }
}

impl Encoder {
    /// Derives every key the schema needs from `secret`.
    pub fn new(secret: &ProjectSecret, schema: Schema) -> Result<Encoder, SchemaError> {
        schema.validate()?;
        let mut plans: Vec<FieldPlan> = Vec::new();
        for (i, spec) in schema.fields.iter().enumerate() {
            plans.push(FieldPlan {
                field: spec.field,
                key: derive(secret, &schema, spec.field.as_str(), Purpose::Bloom),
                filter: Some((i, spec.k)),
                clk_k: 0,
            });
        }
        for c in schema.clk.iter().flat_map(|c| &c.fields) {
            match plans.iter_mut().find(|p| p.field == c.field) {
                Some(plan) => plan.clk_k = c.k,
                None => plans.push(FieldPlan {
                    field: c.field,
                    key: derive(secret, &schema, c.field.as_str(), Purpose::Bloom),
                    filter: None,
                    clk_k: c.k,
                }),
            }
        }
        let id_keys = ID_KINDS
            .iter()
            .map(|k| derive(secret, &schema, k.as_str(), Purpose::Identifier))
            .collect();
        let block_keys = schema
            .blocking
            .iter()
            .map(|b| derive(secret, &schema, b.as_str(), Purpose::Blocking))
            .collect();
        Ok(Encoder {
            key_check: KeyCheck::compute(secret, &schema),
            flip_key: derive(secret, &schema, "filters", Purpose::Flip),
            reference_key: derive(secret, &schema, "records", Purpose::Reference),
            event_key: derive(secret, &schema, "events", Purpose::Event),
            plans,
            id_keys,
            block_keys,
            schema,
        })
    }

    /// How many fields the encoder places (a memo keeps a table for each).
    pub(crate) fn plan_count(&self) -> usize {
        self.plans.len()
    }

    pub fn schema(&self) -> &Schema {
        &self.schema
    }

    /// The key-check value to publish with the encodings.
    pub fn key_check(&self) -> KeyCheck {
        self.key_check
    }

    /// An opaque, stable reference for a record key: a keyed hash, so the linkage unit cannot
    /// recover the key while the holder can map references back by recomputing them.
    pub fn reference_for(&self, record_key: &str) -> u64 {
        leading_u64(
            blake3::keyed_hash(self.reference_key.bytes(), record_key.as_bytes()).as_bytes(),
        )
    }

    /// Encodes one record.
    pub fn encode(&self, record: &Record, reference: u64) -> EncodedRecord {
        self.encode_with(record, reference, None)
    }

    /// A session for encoding many records on one thread: it remembers the draws of tokens it
    /// has seen (q-grams, date parts and phonetic keys recur constantly), so repeated tokens
    /// cost a table look-up instead of a hash. Same output as [`Encoder::encode`].
    pub fn session(&self) -> EncodeSession<'_> {
        EncodeSession {
            encoder: self,
            memo: Memo::new(self.plans.len()),
        }
    }

    fn encode_with(
        &self,
        record: &Record,
        reference: u64,
        memo: Option<&mut Memo>,
    ) -> EncodedRecord {
        let mut out = self.blank();
        self.encode_into(record, reference, memo, &mut out);
        out
    }

    /// An encoded record of this schema's shape with nothing in it.
    pub(crate) fn blank(&self) -> EncodedRecord {
        let s = &self.schema;
        EncodedRecord {
            reference: 0,
            group: 0,
            fields: vec![BitVector::zeros(s.filter_bits as usize); s.fields.len()],
            present: 0,
            clk: s.clk.as_ref().map(|c| BitVector::zeros(c.bits as usize)),
            id_hashes: Vec::with_capacity(usize::from(s.max_identifiers)),
            block_tokens: Vec::with_capacity(s.blocking.len()),
            event_tokens: Vec::with_capacity(usize::from(s.event_slots)),
        }
    }

    /// Encodes `record` into `out`, a record from [`Encoder::blank`] or an earlier call, whose
    /// filters and lists are reused: a streamed record takes no new memory for its encoding.
    pub(crate) fn encode_into(
        &self,
        record: &Record,
        reference: u64,
        mut memo: Option<&mut Memo>,
        out: &mut EncodedRecord,
    ) {
        let s = &self.schema;
        out.reference = reference;
        out.group = 0;
        out.fields.iter_mut().for_each(|f| f.words_mut().fill(0));
        if let Some(c) = out.clk.as_mut() {
            c.words_mut().fill(0);
        }
        let fields = &mut out.fields;
        let mut clk = out.clk.as_mut();
        let mut present = 0u32;

        // A missing year salts as empty: such records compare only among themselves.
        let mut year_text = YearText::default();
        let salt: Option<&[u8]> = self
            .salt_year(record)
            .map(|year| year.map_or(&[][..], |y| year_text.of(y)));
        for (plan_index, plan) in self.plans.iter().enumerate() {
            // The birth date is the salt; sex and nationality have a handful of values whose
            // frequencies the linkage unit reads off anyway, so salting them hides nothing and
            // only makes records of different years look different in them too. Event dates
            // are compared across birth years (a missing or mistyped birth year is where they
            // count most).
            let salt = salt.filter(|_| {
                !matches!(
                    plan.field,
                    Field::BirthDate | Field::Sex | Field::Nationality | Field::EventDates
                )
            });
            let field_words: &mut [u64] = match plan.filter {
                Some((i, _)) => fields[i].words_mut(),
                None => &mut [],
            };
            let clk_words: &mut [u64] = match clk.as_deref_mut() {
                Some(c) if plan.clk_k > 0 => c.words_mut(),
                _ => &mut [],
            };
            let any = match memo.as_deref_mut() {
                Some(m) if remembers_values(plan.field) => {
                    // Name fields by their texts (the bag of names name by name: its filter is
                    // the union of its names', and a name recurs far more than a whole bag);
                    // the others by their tokens.
                    let mut any = false;
                    let texts = for_each_text(plan.field, record, &mut |text| {
                        any |= self.place_text(
                            plan_index,
                            text,
                            salt,
                            m,
                            &mut *field_words,
                            &mut *clk_words,
                        );
                    });
                    if texts {
                        any
                    } else {
                        let tokens = self.field_tokens(plan_index, record);
                        self.place_value(plan_index, tokens, salt, m, field_words, clk_words)
                    }
                }
                // A birth date (never salted) by its parts: within a birth year's records the
                // same few hundred dates recur.
                Some(m) if plan.field == Field::BirthDate && salt.is_none() => {
                    match &record.birth_date {
                        Some(date) => {
                            let mut value = ValueKey::new(None);
                            value.push(&date_key(date));
                            let tokens = self.field_tokens(plan_index, record);
                            let key = value.bytes();
                            self.place_remembered(
                                plan_index,
                                key,
                                tokens,
                                salt,
                                m,
                                field_words,
                                clk_words,
                            )
                        }
                        None => false,
                    }
                }
                // Event dates by their days: a day's windows recur across thousands of
                // records, and eight tokens an event drawn afresh cost a third of the speed.
                Some(m) if plan.field == Field::EventDates && salt.is_none() => {
                    let mut value = ValueKey::new(None);
                    for days in event_days(record) {
                        value.push(&days.to_le_bytes());
                    }
                    let key = value.bytes().filter(|_| value.tokens() > 0);
                    let tokens = self.field_tokens(plan_index, record);
                    self.place_remembered(plan_index, key, tokens, salt, m, field_words, clk_words)
                }
                m => {
                    let tokens = self.field_tokens(plan_index, record);
                    self.place_tokens(plan_index, tokens, salt, m, field_words, clk_words)
                }
            };
            if let (true, Some((i, _))) = (any, plan.filter) {
                present |= 1 << i;
            }
        }

        if s.hardening.flip_ppm > 0 {
            let seed = self.record_seed(record, fields, clk.as_deref());
            for (i, f) in fields.iter_mut().enumerate() {
                if present >> i & 1 == 1 {
                    self.flip(f, &seed, s.fields[i].field.as_str());
                }
            }
            if let Some(c) = clk.filter(|c| !c.is_empty()) {
                self.flip(c, &seed, "clk");
            }
        }

        out.present = present;
        self.id_hashes(&record.identifiers, &mut out.id_hashes);
        out.block_tokens.clear();
        let mut input = Vec::with_capacity(64);
        for (&b, key) in s.blocking.iter().zip(&self.block_keys) {
            let token = blocking_input(b, record, &mut input).then(|| block_token(key, &input));
            out.block_tokens.push(token);
        }
        self.event_tokens(record, &mut out.event_tokens);
    }

    /// Sets the bits of the tokens `each_token` gives (a field's) in the field's filter words and
    /// in the CLK words (either may be empty); returns whether there was a token.
    fn place_tokens(
        &self,
        plan_index: usize,
        each_token: impl FnOnce(Emit<'_>),
        salt: Option<&[u8]>,
        mut memo: Option<&mut Memo>,
        field_words: &mut [u64],
        clk_words: &mut [u64],
    ) -> bool {
        let s = &self.schema;
        let plan = &self.plans[plan_index];
        let k_field = plan.filter.map_or(0, |(_, k)| usize::from(k));
        let n = k_field + usize::from(plan.clk_k);
        let clk_bits = s.clk.as_ref().map_or(0, |c| c.bits);
        let mut any = false;
        let mut draws = [0u16; MAX_DRAWS];
        let draws = &mut draws[..n.min(MAX_DRAWS)];
        each_token(&mut |token| {
            any = true;
            // The first k_field draws place the token in the field filter, the rest in the
            // CLK: disjoint parts of one PRF output, so the two placements are independent.
            let drawn: &[u16] = match memo.as_deref_mut() {
                Some(m) => m.draws(plan_index, &plan.key, salt, token, draws),
                None => {
                    draw(plan.key.bytes(), salt, token, draws);
                    draws
                }
            };
            let (to_field, to_clk) = drawn.split_at(k_field.min(drawn.len()));
            set_positions(field_words, s.filter_bits, to_field);
            set_positions(clk_words, clk_bits, to_clk);
        });
        any
    }

    /// The tokens of plan `plan_index`'s field in `record`, for [`Encoder::place_tokens`].
    fn field_tokens<'r>(
        &self,
        plan_index: usize,
        record: &'r Record,
    ) -> impl Fn(Emit<'_>) + use<'_, 'r> {
        let s = &self.schema;
        let field = self.plans[plan_index].field;
        move |emit| for_each_token(field, record, usize::from(s.q), s.padded, emit)
    }

    /// [`Encoder::place_tokens`] for a value that repeats (see [`crate::values`]), its tokens
    /// given by `tokens`, remembered by its tokens.
    fn place_value(
        &self,
        plan_index: usize,
        tokens: impl Fn(Emit<'_>),
        salt: Option<&[u8]>,
        memo: &mut Memo,
        field_words: &mut [u64],
        clk_words: &mut [u64],
    ) -> bool {
        let mut value = ValueKey::new(salt);
        tokens(&mut |t| value.push(t));
        let key = value.bytes().filter(|_| value.tokens() > 0);
        let tokens = |emit: Emit<'_>| match key {
            // Read back from the key, so that a new value is not split into tokens twice.
            Some(_) => value.each_token(emit),
            None => tokens(emit),
        };
        self.place_remembered(plan_index, key, tokens, salt, memo, field_words, clk_words)
    }

    /// [`Encoder::place_tokens`] for the q-grams of a name field's `text`, remembered by the
    /// text itself (see [`crate::tokens::for_each_text`]): a name met before costs no q-grams.
    fn place_text(
        &self,
        plan_index: usize,
        text: &str,
        salt: Option<&[u8]>,
        memo: &mut Memo,
        field_words: &mut [u64],
        clk_words: &mut [u64],
    ) -> bool {
        let text = trim(text);
        if text.is_empty() {
            return false;
        }
        let s = &self.schema;
        let tokens = |emit: Emit<'_>| qgrams(text, usize::from(s.q), s.padded, emit);
        let mut value = ValueKey::new(salt);
        value.push(text.as_bytes());
        let key = value.bytes();
        self.place_remembered(plan_index, key, tokens, salt, memo, field_words, clk_words)
    }

    /// Places a value's `tokens`: a value remembered under `key` ORs in the words it set then;
    /// a new one is placed token by token apart, ORed in and remembered. Without a key (a value
    /// too long to remember), or once the field's values are found too rarely to pay
    /// ([`crate::values::Values::pays`]), the tokens are placed directly. Returns whether there was a token
    /// (a remembered value has some).
    #[allow(clippy::too_many_arguments)]
    fn place_remembered(
        &self,
        plan_index: usize,
        key: Option<&[u8]>,
        tokens: impl Fn(Emit<'_>),
        salt: Option<&[u8]>,
        memo: &mut Memo,
        field_words: &mut [u64],
        clk_words: &mut [u64],
    ) -> bool {
        let Some(key) = key.filter(|_| memo.values.pays(plan_index)) else {
            return self.place_tokens(plan_index, tokens, salt, Some(memo), field_words, clk_words);
        };
        if memo.values.apply(plan_index, key, field_words, clk_words) {
            return true;
        }
        // The value's own words, on the stack for the usual filter sizes.
        let words = field_words.len() + clk_words.len();
        let mut stack = [0u64; 32];
        let mut heap = Vec::new();
        let own: &mut [u64] = match stack.get_mut(..words) {
            Some(own) => own,
            None => {
                heap.resize(words, 0);
                &mut heap
            }
        };
        let (own_field, own_clk) = own.split_at_mut(field_words.len());
        let any = self.place_tokens(plan_index, tokens, salt, Some(memo), own_field, own_clk);
        field_words
            .iter_mut()
            .zip(&*own_field)
            .for_each(|(to, w)| *to |= w);
        clk_words
            .iter_mut()
            .zip(&*own_clk)
            .for_each(|(to, w)| *to |= w);
        if any {
            memo.values.remember(plan_index, key, own_field, own_clk);
        }
        own_field.zeroize();
        own_clk.zeroize();
        any
    }

    /// Encodes many records across rayon's threads; `reference` gives each record's reference.
    /// The output is that of [`Encoder::encode`], in the order of `records`.
    ///
    /// Work is done the way a session's memory of token draws pays best: records are taken in
    /// order of their salt (the birth year by default), in runs each thread encodes with the
    /// memo of the salt at hand (see [`MemoShelf`]). A salt's draws are of no use to another
    /// salt, and touching one salt's memo at a time keeps the tables in use small enough to
    /// stay in cache, where one memo for every salt made each look-up a miss to memory.
    pub fn encode_all(
        &self,
        records: &[Record],
        reference: impl Fn(usize, &Record) -> u64 + Sync,
    ) -> Vec<EncodedRecord> {
        let order = self.salt_order(records);
        let shelf = MemoShelf::new(self.plans.len());
        let mut encoded: Vec<(usize, EncodedRecord)> = order
            .par_chunks(SALT_RUN)
            .map_init(
                || shelf.hold(),
                |memo, run| {
                    run.iter()
                        .map(|&(salt, i)| {
                            let record = &records[i];
                            let memo = memo.for_salt(salt);
                            let e = self.encode_with(record, reference(i, record), Some(memo));
                            (i, e)
                        })
                        .collect::<Vec<_>>()
                },
            )
            .flatten()
            .collect();
        encoded.sort_unstable_by_key(|(i, _)| *i);
        encoded.into_iter().map(|(_, e)| e).collect()
    }

    /// `(salt, index)` of every record, sorted: the records of one salt together, each salt's in
    /// input order. Encoding in this order, only one salt's memo is in use at a time (see
    /// [`Encoder::encode_all`]), and it stays warm.
    pub(crate) fn salt_order(&self, records: &[Record]) -> Vec<(SaltYear, usize)> {
        let mut order: Vec<_> = records
            .iter()
            .enumerate()
            .map(|(i, r)| (self.salt_year(r), i))
            .collect();
        order.sort_unstable();
        order
    }

    /// What a record's name filters are salted with: its birth year (`Some(None)` when it has
    /// none) under the birth-year salt, `None` when the schema does not salt.
    fn salt_year(&self, record: &Record) -> SaltYear {
        self.schema
            .hardening
            .salt
            .map(|SaltSource::BirthYear| record.birth_date.map(|d| d.year))
    }

    /// Puts the keyed hashes of `ids` in `out`, emptied first.
    fn id_hashes(&self, ids: &[Identifier], out: &mut Vec<IdHash>) {
        out.clear();
        for id in ids {
            if out.len() >= usize::from(self.schema.max_identifiers) {
                break;
            }
            let Some(input) = id_input(id) else { continue };
            let Some(slot) = ID_KINDS.iter().position(|&k| k == id.kind) else {
                continue;
            };
            let hash = input.keyed_hash(&self.id_keys[slot]);
            let h = IdHash {
                kind: id.kind,
                hash,
            };
            if !out.contains(&h) {
                out.push(h);
            }
        }
    }

    /// Puts the keyed tokens of the record's events with an id in `out`, emptied first:
    /// sorted and distinct, at most the schema's slots (the first events in record order).
    /// Hashed with the kind, so an encounter and a case that happen to share a number stay
    /// apart; 0 is left free to mean an empty slot.
    fn event_tokens(&self, record: &Record, out: &mut Vec<u64>) {
        out.clear();
        let slots = usize::from(self.schema.event_slots);
        for event in &record.events {
            if out.len() >= slots {
                break;
            }
            let Some(id) = event.id.as_deref().map(trim).filter(|id| !id.is_empty()) else {
                continue;
            };
            let mut h = blake3::Hasher::new_keyed(self.event_key.bytes());
            h.update(&(event.kind.len() as u64).to_le_bytes());
            h.update(event.kind.as_bytes());
            h.update(id.as_bytes());
            let token = leading_u64(h.finalize().as_bytes()).max(1);
            if !out.contains(&token) {
                out.push(token);
            }
        }
        out.sort_unstable();
    }

    /// What makes a record's noise its own: a keyed hash of the record's key and of all its
    /// filters before noise. Two records with the same value in a field get independent noise
    /// there (unless they are the same record: same key and same values), so equal values stop
    /// giving equal filters; the same record encoded again gets the same noise.
    fn record_seed(
        &self,
        record: &Record,
        fields: &[BitVector],
        clk: Option<&BitVector>,
    ) -> [u8; 32] {
        let mut h = blake3::Hasher::new_keyed(self.flip_key.bytes());
        h.update(b"record\0");
        h.update(&(record.key.len() as u64).to_le_bytes());
        h.update(record.key.as_bytes());
        for f in fields.iter().chain(clk) {
            for w in f.words() {
                h.update(&w.to_le_bytes());
            }
        }
        *h.finalize().as_bytes()
    }

    /// BLIP: flips each bit with probability flip_ppm / 10⁶, drawn from a generator keyed by the
    /// flip key and seeded by the record's seed, the filter's domain and its content, so the same
    /// record always gets the same noise (re-encoding it cannot average the noise away) while
    /// other records with the same value get other noise.
    fn flip(&self, filter: &mut BitVector, record_seed: &[u8; 32], domain: &str) {
        let mut h = blake3::Hasher::new_keyed(self.flip_key.bytes());
        h.update(record_seed);
        h.update(domain.as_bytes());
        h.update(&[0]);
        for w in filter.words() {
            h.update(&w.to_le_bytes());
        }
        let mut rng = ChaCha12Rng::from_seed(*h.finalize().as_bytes());
        let limit = (u64::from(self.schema.hardening.flip_ppm) << 32) / 1_000_000;
        for i in 0..filter.bits() {
            if u64::from(rng.next_u32()) < limit {
                filter.flip(i);
            }
        }
    }
}

/// Encodes records one after another on one thread, remembering token draws; see
/// [`Encoder::session`].
pub struct EncodeSession<'a> {
    encoder: &'a Encoder,
    memo: Memo,
}

impl EncodeSession<'_> {
    pub fn encode(&mut self, record: &Record, reference: u64) -> EncodedRecord {
        self.encoder
            .encode_with(record, reference, Some(&mut self.memo))
    }
}

impl std::fmt::Debug for EncodeSession<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EncodeSession")
            .field("encoder", self.encoder)
            .finish_non_exhaustive()
    }
}

/// A birth year as the salt's text, `i32`'s decimal `Display`, written on the stack: every
/// record is salted, and a `String` for it was an allocation per record.
#[derive(Default)]
struct YearText {
    digits: Decimal,
}

impl YearText {
    fn of(&mut self, year: i32) -> &[u8] {
        self.digits.of(i64::from(year), 1)
    }
}

/// The canonical text hashed for an identifier, or `None` when it is not encoded: invalid or
/// empty values, and passports or plates with no issuing country (a bare number is not unique
/// across countries).
fn id_input(id: &Identifier) -> Option<IdInput<'_>> {
    let value = trim(&id.value);
    if !id.valid || value.is_empty() {
        return None;
    }
    match id.kind {
        IdKind::Passport | IdKind::Plate => {
            let country = id.country.as_deref().map(trim).filter(|c| !c.is_empty())?;
            Some(IdInput::Issued { country, value })
        }
        _ => Some(IdInput::Plain(value)),
    }
}

/// An identifier's canonical text: the value, or for passports and plates the issuing country
/// in capitals, a 0 byte and the value. Hashed in parts, so no record builds it in a `String`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum IdInput<'a> {
    Plain(&'a str),
    Issued { country: &'a str, value: &'a str },
}

impl IdInput<'_> {
    fn keyed_hash(self, key: &Key) -> [u8; 32] {
        match self {
            IdInput::Plain(value) => *blake3::keyed_hash(key.bytes(), value.as_bytes()).as_bytes(),
            IdInput::Issued { country, value } => {
                let mut h = blake3::Hasher::new_keyed(key.bytes());
                for b in country.bytes() {
                    h.update(&[b.to_ascii_uppercase()]);
                }
                h.update(&[0]);
                h.update(value.as_bytes());
                *h.finalize().as_bytes()
            }
        }
    }

    /// The text itself, as hashed (for tests).
    #[cfg(test)]
    fn text(self) -> String {
        match self {
            IdInput::Plain(value) => value.to_string(),
            IdInput::Issued { country, value } => {
                format!("{}\0{}", country.to_ascii_uppercase(), value)
            }
        }
    }
}

fn block_token(key: &Key, input: &[u8]) -> BlockToken {
    BlockToken(leading_u64(
        blake3::keyed_hash(key.bytes(), input).as_bytes(),
    ))
}

#[cfg(test)]
mod tests {
    use super::YearText;
    use enlace_normalize::IdKind;

    proptest::proptest! {
        #[test]
        fn year_text_is_display(year: i32) {
            let mut text = YearText::default();
            let display = year.to_string();
            proptest::prop_assert_eq!(text.of(year), display.as_bytes());
        }
    }

    proptest::proptest! {
        #[test]
        fn identifiers_hash_in_parts_as_their_whole_text(
            country in "[ a-zA-Zé]{0,4}",
            value in "[ 0-9A-Za-z]{1,12}",
            passport: bool,
        ) {
            let id = enlace_normalize::Identifier {
                kind: if passport { IdKind::Passport } else { IdKind::Curp },
                raw: value.clone(),
                value,
                country: Some(country),
                valid: true,
                problem: None,
            };
            let key = crate::keys::Key::from_bytes([9; 32]);
            if let Some(input) = super::id_input(&id) {
                let whole = blake3::keyed_hash(key.bytes(), input.text().as_bytes());
                proptest::prop_assert_eq!(input.keyed_hash(&key), *whole.as_bytes());
            }
        }
    }

    #[test]
    fn year_text_at_the_limits() {
        for year in [0, -1, 9, 10, 1987, i32::MIN, i32::MAX] {
            let mut text = YearText::default();
            assert_eq!(text.of(year), year.to_string().as_bytes());
        }
    }
}
