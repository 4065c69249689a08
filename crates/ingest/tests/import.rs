//! Import through the real store on real files: every row stored or rejected with its line,
//! column and reason, and the counts adding up.

use std::path::{Path, PathBuf};

use enlace_ingest::{ImportError, ImportOptions, ImportOutcome, ImportReport, import};
use enlace_store::Store;

const US_MAPPING: &str = include_str!("../../../examples/mappings/us-encounters.toml");
const MX_MAPPING: &str = include_str!("../../../examples/mappings/mx-registros.toml");
const GT_MAPPING: &str = include_str!("../../../examples/mappings/gt-registros.toml");
const FEBRL4_MAPPING: &str = include_str!("../../../examples/mappings/febrl4.toml");

const US_HEADER: &str = "RECORD_ID,FIRST_NAME,MIDDLE_NAME,LAST_NAME,DOB,SEX,COUNTRY_OF_CITIZENSHIP,PHONE,A_NUMBER,EVENT_ID,ENCOUNTER_DATE,SECTOR,NOTES";

struct Fixture {
    dir: tempfile::TempDir,
}

impl Fixture {
    fn new() -> Fixture {
        Fixture {
            dir: tempfile::tempdir().unwrap(),
        }
    }
    fn write(&self, name: &str, bytes: &[u8]) -> PathBuf {
        let p = self.dir.path().join(name);
        std::fs::write(&p, bytes).unwrap();
        p
    }
    fn store(&self) -> PathBuf {
        self.dir.path().join("store")
    }
    fn run(&self, mapping: &str, input: &Path) -> Result<ImportReport, ImportError> {
        let m = self.write("mapping.toml", mapping.as_bytes());
        let mut opts = ImportOptions::new(&self.store(), &m, input);
        opts.today = chrono::NaiveDate::from_ymd_opt(2026, 11, 27).unwrap();
        opts.batch_rows = 3;
        import(&opts)
    }
    fn rejects(&self, report: &ImportReport) -> Vec<csv::StringRecord> {
        let mut r = csv::Reader::from_path(&report.rejects_file).unwrap();
        r.records().map(|r| r.unwrap()).collect()
    }
}

fn us_file(rows: &[&str]) -> Vec<u8> {
    let mut text = String::from(US_HEADER);
    text.push('\n');
    for r in rows {
        text.push_str(r);
        text.push('\n');
    }
    text.into_bytes()
}

#[test]
fn us_layout_imports_and_counts_add_up() {
    let f = Fixture::new();
    let input = f.write(
        "us.csv",
        &us_file(&[
            "1,JOSE,LUIS,GARCIA LOPEZ,03/15/1990,M,MEXICO,(956) 555-0100,A012345678,E1,10/02/2025,RGV,",
            "2,MARIA,,HERNANDEZ-CRUZ,12/01/1985,F,GUATEMALA,,,E1,10/02/2025,RGV,",
            "3,ANA,,PEREZ,02/31/1990,F,HONDURAS,,,E2,10/03/2025,LRT,",
            "4,PEDRO,,RAMIREZ,01/05/2040,M,MEXICO,,,E2,10/03/2025,LRT,",
            ",NOID,,NOBODY,01/05/1980,M,MEXICO,,,E3,10/03/2025,LRT,",
            "6,LUIS,,SOTO,07/04/1970,M,EL SALVADOR,,,E4,10/04/2025,ELP,",
        ]),
    );
    let report = f.run(US_MAPPING, &input).unwrap();
    let c = report.counts;
    assert_eq!(c.read, 6);
    assert_eq!(c.stored, 3);
    assert_eq!(c.rejected, 3);
    assert!(c.balanced());
    let rejects = f.rejects(&report);
    assert_eq!(rejects.len(), 3);
    // line, column, reason — line counts the header as line 1.
    assert_eq!(&rejects[0][0], "4");
    assert_eq!(&rejects[0][1], "DOB");
    assert!(rejects[0][2].contains("impossible"), "{:?}", rejects[0]);
    assert_eq!(&rejects[1][0], "5");
    assert!(rejects[1][2].contains("future"), "{:?}", rejects[1]);
    assert_eq!(&rejects[2][1], "RECORD_ID");
    // The reason never repeats the value; the row itself is kept in its own column.
    assert!(!rejects[0][2].contains("02/31/1990"));
    assert!(rejects[0][3].contains("02/31/1990"));

    let store = Store::open(&f.store()).unwrap();
    let records = store.records("us-encounters").unwrap();
    assert_eq!(records.len(), 3);
    let jose = &records[0].record;
    assert_eq!(jose.name.surname1.as_deref(), Some("garcia"));
    assert_eq!(jose.name.surname2.as_deref(), Some("lopez"));
    assert_eq!(jose.nationality.as_deref(), Some("MX"));
    assert_eq!(jose.events.len(), 1);
    assert_eq!(jose.events[0].id.as_deref(), Some("E1"));
    let maria = &records[1].record;
    assert_eq!(maria.name.surname1.as_deref(), Some("hernandez"));
    assert_eq!(maria.name.surname2.as_deref(), Some("cruz"));
    assert_eq!(records[2].record.nationality.as_deref(), Some("SV"));
}

#[test]
fn reimport_adds_nothing() {
    let f = Fixture::new();
    let input = f.write(
        "us.csv",
        &us_file(&["1,JOSE,,GARCIA,03/15/1990,M,MEXICO,,,E1,10/02/2025,RGV,"]),
    );
    let first = f.run(US_MAPPING, &input).unwrap();
    assert_eq!(first.outcome, ImportOutcome::New);
    let again = f.run(US_MAPPING, &input).unwrap();
    assert_eq!(again.outcome, ImportOutcome::AlreadyImported);
    assert_eq!(again.import_id, first.import_id);
    let store = Store::open(&f.store()).unwrap();
    assert_eq!(store.record_count("us-encounters").unwrap(), 1);
    assert_eq!(store.imports().unwrap().len(), 1);
}

#[test]
fn a_later_export_with_old_and_changed_rows_counts_each() {
    let f = Fixture::new();
    let first = f.write(
        "a.csv",
        &us_file(&["1,JOSE,,GARCIA,03/15/1990,M,MEXICO,,,E1,10/02/2025,RGV,"]),
    );
    f.run(US_MAPPING, &first).unwrap();
    let second = f.write(
        "b.csv",
        &us_file(&[
            "1,JOSE,,GARCIA,03/15/1990,M,MEXICO,,,E1,10/02/2025,RGV,",
            "1,JOSE,,GARCIA,03/15/1990,M,MEXICO,,,E1,10/02/2025,RGV,dup",
            "2,ANA,,RUIZ,03/15/1991,F,MEXICO,,,E1,10/02/2025,RGV,",
        ]),
    );
    let report = f.run(US_MAPPING, &second).unwrap();
    let c = report.counts;
    assert_eq!(
        (c.read, c.unchanged, c.updated, c.stored, c.rejected),
        (3, 1, 0, 1, 1)
    );
    let rejects = f.rejects(&report);
    assert!(rejects[0][2].contains("repeats"), "{:?}", rejects[0]);
    let third = f.write(
        "c.csv",
        &us_file(&["1,JOSÉ,,GARCÍA,03/15/1990,M,MEXICO,,,E9,11/02/2025,RGV,"]),
    );
    let c = f.run(US_MAPPING, &third).unwrap().counts;
    assert_eq!((c.read, c.updated), (1, 1));
    let store = Store::open(&f.store()).unwrap();
    let records = store.records("us-encounters").unwrap();
    assert_eq!(records.len(), 2);
    assert_eq!(
        records[0].record.events.len(),
        1,
        "an updated record's events are replaced, not added to"
    );
    assert_eq!(records[0].record.events[0].id.as_deref(), Some("E9"));
}

#[test]
fn missing_required_column_fails_at_once_naming_it() {
    let f = Fixture::new();
    let input = f.write("us.csv", b"RECORD_ID,FIRST_NAME,LAST_NAME\n1,A,B\n");
    let err = f.run(US_MAPPING, &input).unwrap_err().to_string();
    assert!(err.contains("`DOB`"), "{err}");
    assert!(
        err.contains("columns found: RECORD_ID, FIRST_NAME, LAST_NAME"),
        "{err}"
    );
    assert!(err.contains("us.csv"), "{err}");
    // Nothing was started in the store.
    assert!(
        Store::open(&f.store())
            .unwrap()
            .imports()
            .unwrap()
            .is_empty()
    );
}

#[test]
fn wrong_delimiter_is_named() {
    let f = Fixture::new();
    let input = f.write("us.csv", US_HEADER.replace(',', ";").as_bytes());
    let err = f.run(US_MAPPING, &input).unwrap_err().to_string();
    assert!(err.contains("delimited by ';'"), "{err}");
}

#[test]
fn auto_delimiter_reads_semicolons() {
    let f = Fixture::new();
    let mapping = US_MAPPING.replace(
        "encoding = \"auto\"",
        "encoding = \"auto\"\ndelimiter = \"auto\"",
    );
    let text = String::from_utf8(us_file(&[
        "1,JOSE,,GARCIA,03/15/1990,M,MEXICO,,,E1,10/02/2025,RGV,",
    ]))
    .unwrap();
    let input = f.write("us.csv", text.replace(',', ";").as_bytes());
    let report = f.run(&mapping, &input).unwrap();
    assert_eq!(report.counts.stored, 1);
}

#[test]
fn empty_file_and_header_only() {
    let f = Fixture::new();
    let empty = f.write("empty.csv", b"");
    let err = f.run(US_MAPPING, &empty).unwrap_err().to_string();
    assert!(err.contains("empty"), "{err}");
    let header_only = f.write("header.csv", &us_file(&[]));
    let report = f.run(US_MAPPING, &header_only).unwrap();
    assert_eq!(report.counts.read, 0);
    assert!(report.counts.balanced());
}

#[test]
fn unbalanced_quote_rejects_the_rows_it_swallows_and_keeps_their_text() {
    let f = Fixture::new();
    let input = f.write(
        "us.csv",
        &us_file(&[
            "1,JOSE,,GARCIA,03/15/1990,M,MEXICO,,,E1,10/02/2025,RGV,",
            "2,\"ANA,,RUIZ,03/15/1991,F,MEXICO,,,E1,10/02/2025,RGV,",
            "3,LUIS,,SOTO,03/15/1992,M,MEXICO,,,E1,10/02/2025,RGV,",
        ]),
    );
    let report = f.run(US_MAPPING, &input).unwrap();
    assert!(report.counts.balanced());
    assert_eq!(report.counts.stored, 1);
    let rejects = f.rejects(&report);
    assert_eq!(rejects.len(), 1);
    assert_eq!(&rejects[0][0], "3");
    assert!(
        rejects[0][2].contains("unbalanced quote"),
        "{:?}",
        rejects[0]
    );
    // Nothing lost: the swallowed row's text is in the rejects.
    assert!(rejects[0][3].contains("SOTO"));
}

#[test]
fn a_ten_megabyte_line_is_rejected_not_stored() {
    let f = Fixture::new();
    let long = "X".repeat(10 << 20);
    let row = format!("2,ANA,,RUIZ,03/15/1991,F,MEXICO,,,E1,10/02/2025,RGV,{long}");
    let input = f.write(
        "us.csv",
        &us_file(&[
            "1,JOSE,,GARCIA,03/15/1990,M,MEXICO,,,E1,10/02/2025,RGV,",
            &row,
        ]),
    );
    let report = f.run(US_MAPPING, &input).unwrap();
    assert_eq!((report.counts.stored, report.counts.rejected), (1, 1));
    let rejects = f.rejects(&report);
    assert!(rejects[0][2].contains("limit"), "{:?}", &rejects[0][2]);
    assert_eq!(
        rejects[0][3].len(),
        row.len(),
        "the whole row is kept in the rejects"
    );
}

#[test]
fn undeclared_latin1_is_detected_and_declared_utf8_rejects_with_a_hint() {
    let f = Fixture::new();
    let header = "folio,nombres,primer_apellido,segundo_apellido,fecha_nacimiento,sexo,nacionalidad,curp,telefono,evento_id,fecha_evento,lugar\n";
    let mut bytes = header.as_bytes().to_vec();
    bytes.extend_from_slice(b"F1,Jos\xe9,Nu\xf1ez,L\xf3pez,15/03/1990,H,MEXICANA,,,,,\n");
    let input = f.write("mx.csv", &bytes);
    let report = f.run(MX_MAPPING, &input).unwrap();
    assert_eq!(report.encoding, "windows-1252");
    assert_eq!(report.counts.stored, 1);
    let store = Store::open(&f.store()).unwrap();
    let r = &store.records("mx-registros").unwrap()[0].record;
    assert_eq!(r.name.given_display, "José");
    assert_eq!(r.name.surname1.as_deref(), Some("nunez"));

    let g = Fixture::new();
    let declared = MX_MAPPING.replace("encoding = \"auto\"", "encoding = \"utf-8\"");
    let input = g.write("mx.csv", &bytes);
    let report = g.run(&declared, &input).unwrap();
    assert_eq!(report.counts.rejected, 1);
    let rejects = g.rejects(&report);
    assert_eq!(&rejects[0][1], "nombres");
    assert!(rejects[0][2].contains("windows-1252"), "{:?}", rejects[0]);
}

#[test]
fn invalid_identifiers_are_kept_flagged_with_a_warning() {
    let f = Fixture::new();
    let header = "folio,nombres,primer_apellido,segundo_apellido,fecha_nacimiento,sexo,nacionalidad,curp,telefono,evento_id,fecha_evento,lugar\n";
    let text = format!(
        "{header}F1,Juan,Pérez,Gómez,15/03/1990,H,MEXICANA,PEGJ900315HDFRMN0X,no tengo,,,\n"
    );
    let input = f.write("mx.csv", text.as_bytes());
    let report = f.run(MX_MAPPING, &input).unwrap();
    assert_eq!(report.counts.stored, 1);
    assert_eq!(report.counts.warned, 1, "one record kept with warnings");
    let store = Store::open(&f.store()).unwrap();
    let warnings = store
        .warnings(enlace_store::ImportId(report.import_id), 10)
        .unwrap();
    assert_eq!(warnings.len(), 2, "{warnings:?}");
    assert!(
        warnings.iter().all(|w| !w.contains("PEGJ")),
        "warnings never quote the value"
    );
    let r = &store.records("mx-registros").unwrap()[0].record;
    assert_eq!(r.identifiers.len(), 2);
    assert!(
        r.identifiers.iter().all(|id| !id.valid),
        "{:?}",
        r.identifiers
    );
    assert_eq!(r.warnings.len(), 2, "{:?}", r.warnings);
    assert!(r.warnings.iter().any(|w| w.starts_with("curp:")));
    assert!(r.warnings.iter().any(|w| w.starts_with("telefono:")));
}

#[test]
fn addresses_and_national_ids_survive_the_store() {
    let f = Fixture::new();
    let text = "rec_id,given_name,surname,street_number,address_1,address_2,suburb,postcode,state,date_of_birth,soc_sec_id\n\
                rec-1-org,michaela,neumann,8,Stanley St.,miami,winston hills,4223,nsw,19151111,530-4218\n\
                rec-2-org,courtney,painter,,,,,,,19161214,\n";
    let input = f.write("febrl.csv", text.as_bytes());
    let report = f.run(FEBRL4_MAPPING, &input).unwrap();
    assert_eq!(report.counts.stored, 2, "{report:?}");
    let store = Store::open(&f.store()).unwrap();
    let records = store.records("febrl4").unwrap();
    let a = records[0].record.address.as_ref().expect("an address");
    assert_eq!(a.street.as_deref(), Some("8 stanley street miami"));
    assert_eq!(a.locality.as_deref(), Some("winston hills"));
    assert_eq!(a.postcode.as_deref(), Some("4223"));
    assert_eq!(a.region.as_deref(), Some("nsw"));
    assert_eq!(a.country.as_deref(), Some("AU"));
    let id = &records[0].record.identifiers[0];
    assert_eq!(
        (id.kind.as_str(), id.value.as_str(), id.valid),
        ("national_id", "5304218", true)
    );
    // No part of the address written: no address at all, not an empty one.
    assert_eq!(records[1].record.address, None);
}

#[test]
fn guatemalan_layout_with_iso_dates() {
    let f = Fixture::new();
    let text = "id_registro,primer_nombre,segundo_nombre,primer_apellido,segundo_apellido,fecha_nacimiento,sexo,nacionalidad,dpi,telefono,evento_id,fecha_evento,lugar\n\
                G1,Ana,Lucía,Xol,Caal,1994-07-21,F,GUATEMALA,,5555 1234,EV9,2025-10-01,Tecún Umán\n";
    let input = f.write("gt.csv", text.as_bytes());
    let report = f.run(GT_MAPPING, &input).unwrap();
    assert_eq!(report.counts.stored, 1, "{report:?}");
    let store = Store::open(&f.store()).unwrap();
    let r = &store.records("gt-registros").unwrap()[0].record;
    assert_eq!(r.name.surname1.as_deref(), Some("xol"));
    assert_eq!(r.name.surname2.as_deref(), Some("caal"));
    assert_eq!(r.birth_date.map(|d| d.iso()).as_deref(), Some("1994-07-21"));
    assert_eq!(r.nationality.as_deref(), Some("GT"));
    assert_eq!(r.events[0].place.as_deref(), Some("Tecún Umán"));
}

#[test]
fn jsonl_rows_including_a_broken_line() {
    let f = Fixture::new();
    let mapping = US_MAPPING.replace("format = \"csv\"", "format = \"jsonl\"");
    let text = r#"{"RECORD_ID":"1","FIRST_NAME":"JOSE","LAST_NAME":"GARCIA","DOB":"03/15/1990","SEX":"M","COUNTRY_OF_CITIZENSHIP":"MEXICO","PHONE":null,"EVENT_ID":"E1","ENCOUNTER_DATE":"10/02/2025","SECTOR":"RGV"}
{"RECORD_ID":"2","FIRST_NAME":"ANA",
{"RECORD_ID":3,"FIRST_NAME":"LUIS","LAST_NAME":"SOTO","DOB":"03/15/1992","SEX":"M","COUNTRY_OF_CITIZENSHIP":"MEXICO","EVENT_ID":"E1","ENCOUNTER_DATE":"10/02/2025","SECTOR":"RGV","A_NUMBER":"A12345678"}

[1,2]
"#;
    let input = f.write("us.jsonl", text.as_bytes());
    let report = f.run(&mapping, &input).unwrap();
    let c = report.counts;
    assert_eq!((c.read, c.stored, c.rejected), (4, 2, 2), "{report:?}");
    let rejects = f.rejects(&report);
    assert_eq!(&rejects[0][0], "2");
    assert!(rejects[0][2].contains("not valid JSON"));
    assert_eq!(&rejects[1][0], "5");
    let store = Store::open(&f.store()).unwrap();
    let records = store.records("us-encounters").unwrap();
    assert_eq!(records[1].record.key, "3", "numbers read as text");
    assert_eq!(
        records[1].record.identifiers.len(),
        1,
        "a column absent from the first object is still read"
    );
}

#[test]
fn parquet_rows() {
    use std::sync::Arc;

    use parquet::data_type::{ByteArray, ByteArrayType};
    use parquet::file::properties::WriterProperties;
    use parquet::file::writer::SerializedFileWriter;
    use parquet::schema::parser::parse_message_type;

    let f = Fixture::new();
    let columns = [
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
    let rows = [
        [
            "G1",
            "Ana",
            "Lucía",
            "Xol",
            "Caal",
            "1994-07-21",
            "F",
            "GT",
            "",
            "",
            "EV1",
            "2025-10-01",
            "Tecún Umán",
        ],
        [
            "G2",
            "Juan",
            "",
            "Pop",
            "",
            "1994-02-30",
            "M",
            "GT",
            "",
            "",
            "EV1",
            "2025-10-01",
            "Tecún Umán",
        ],
    ];
    let schema = format!(
        "message r {{ {} }}",
        columns
            .iter()
            .map(|c| format!("REQUIRED BYTE_ARRAY {c} (UTF8);"))
            .collect::<Vec<_>>()
            .join(" ")
    );
    let path = f.dir.path().join("gt.parquet");
    let file = std::fs::File::create(&path).unwrap();
    let mut writer = SerializedFileWriter::new(
        file,
        Arc::new(parse_message_type(&schema).unwrap()),
        Arc::new(WriterProperties::builder().build()),
    )
    .unwrap();
    let mut group = writer.next_row_group().unwrap();
    let mut i = 0;
    while let Some(mut col) = group.next_column().unwrap() {
        let values: Vec<ByteArray> = rows.iter().map(|r| ByteArray::from(r[i])).collect();
        col.typed::<ByteArrayType>()
            .write_batch(&values, None, None)
            .unwrap();
        col.close().unwrap();
        i += 1;
    }
    group.close().unwrap();
    writer.close().unwrap();

    let mapping = GT_MAPPING.replace("format = \"csv\"", "format = \"parquet\"");
    let report = f.run(&mapping, &path).unwrap();
    let c = report.counts;
    assert_eq!((c.read, c.stored, c.rejected), (2, 1, 1));
    let rejects = f.rejects(&report);
    assert_eq!(&rejects[0][1], "fecha_nacimiento");
    let store = Store::open(&f.store()).unwrap();
    let r = &store.records("gt-registros").unwrap()[0].record;
    assert_eq!(r.name.given_display, "Ana Lucía");
}

#[test]
fn resumes_from_its_checkpoint_without_duplicates() {
    // A run stopped by an error mid-file (here: the store's import marked failed by hand after
    // two batches) resumes from its checkpoint and ends with every row once.
    let f = Fixture::new();
    let rows: Vec<String> = (1..=10)
        .map(|i| format!("{i},JOSE,,GARCIA,03/15/1990,M,MEXICO,,,E1,10/02/2025,RGV,"))
        .collect();
    let refs: Vec<&str> = rows.iter().map(String::as_str).collect();
    let input = f.write("us.csv", &us_file(&refs));
    let report = f.run(US_MAPPING, &input).unwrap();
    assert_eq!(report.counts.stored, 10);
    // Simulate an interruption after the first batch: roll the store back to that state.
    let conn = rusqlite::Connection::open(f.store().join("enlace.db")).unwrap();
    let cp: String = conn
        .query_row("SELECT checkpoint FROM imports", [], |r| r.get(0))
        .unwrap();
    assert!(cp.contains("\"rows\":10"), "{cp}");
    conn.execute_batch(
        "DELETE FROM events WHERE record_id IN (SELECT id FROM records WHERE CAST(record_key AS INTEGER) > 3);
         DELETE FROM records WHERE CAST(record_key AS INTEGER) > 3;",
    )
    .unwrap();
    let prefix = std::iter::once(US_HEADER.to_string())
        .chain(rows[..3].iter().cloned())
        .collect::<Vec<_>>()
        .join("\n")
        + "\n";
    conn.execute(
        "UPDATE imports SET status = 'running', rows_read = 3, rows_stored = 3,
                checkpoint = json_object('offset', ?1, 'line', 5, 'rows', 3)",
        [prefix.len() as i64],
    )
    .unwrap();
    drop(conn);
    let resumed = f.run(US_MAPPING, &input).unwrap();
    assert_eq!(resumed.outcome, ImportOutcome::Resumed { from_row: 3 });
    assert_eq!(resumed.counts.read, 10);
    assert_eq!(resumed.counts.stored, 10);
    let store = Store::open(&f.store()).unwrap();
    assert_eq!(store.record_count("us-encounters").unwrap(), 10);
}

#[test]
fn reading_a_whole_source_gives_each_record_its_own_identifiers_and_events() {
    let f = Fixture::new();
    // Records with two identifiers, one, none (every row makes an encounter); an identifier-less
    // record between two that have them, so that a record taking its neighbour's would show.
    let input = f.write(
        "us.csv",
        &us_file(&[
            "1,JOSE,LUIS,GARCIA LOPEZ,03/15/1990,M,MEXICO,(956) 555-0100,A012345678,E1,10/02/2025,RGV,FAMILY UNIT",
            "2,MARIA,,HERNANDEZ-CRUZ,12/01/1985,F,GUATEMALA,,,,,RGV,",
            "3,ANA,,PEREZ,02/11/1990,F,HONDURAS,(956) 555-0177,,E2,10/03/2025,LRT,",
            "4,PEDRO,,RAMIREZ,01/05/1980,M,MEXICO,,A087654321,E2,10/03/2025,LRT,",
            "5,LUIS,,SOTO,07/04/1970,M,EL SALVADOR,,,E4,10/04/2025,ELP,",
        ]),
    );
    let report = f.run(US_MAPPING, &input).unwrap();
    assert_eq!(report.counts.stored, 5);
    let store = Store::open(&f.store()).unwrap();
    let all = store.records("us-encounters").unwrap();
    assert_eq!(all.len(), 5);
    let with_ids = all
        .iter()
        .filter(|r| !r.record.identifiers.is_empty())
        .count();
    let with_events = all.iter().filter(|r| !r.record.events.is_empty()).count();
    assert_eq!((with_ids, with_events), (3, 5));
    for r in &all {
        let one = store
            .record("us-encounters", &r.record.key)
            .unwrap()
            .unwrap();
        assert_eq!(one.record, r.record, "record {}", r.record.key);
    }
    // The read for linkage gives the same records without the display names, identifiers' raw
    // text and problems, attributes and warnings.
    let lean = store.records_for_linkage("us-encounters").unwrap();
    assert_eq!(lean.len(), all.len());
    assert!(all.iter().any(|r| !r.record.attributes.is_empty()));
    for (l, w) in lean.iter().zip(&all) {
        let mut want = w.record.clone();
        want.name.given_display.clear();
        want.name.surnames_display.clear();
        want.attributes.clear();
        want.warnings.clear();
        for i in &mut want.identifiers {
            i.raw.clear();
            i.problem = None;
        }
        assert_eq!((l.id, l.line), (w.id, w.line));
        assert_eq!(l.record, want, "record {}", w.record.key);
        assert!(!w.record.name.given_display.is_empty());
    }
    // Read in parts on connections of their own, the same records in the same order: as many
    // parts as records, and a few uneven ones.
    for parts in [2, 3, lean.len(), lean.len() + 5] {
        let split = store
            .records_for_linkage_in("us-encounters", parts)
            .unwrap();
        assert_eq!(split.len(), lean.len(), "{parts} parts");
        for (s, l) in split.iter().zip(&lean) {
            assert_eq!((s.id, s.line), (l.id, l.line), "{parts} parts");
            assert_eq!(s.record, l.record, "{parts} parts");
        }
    }
}
