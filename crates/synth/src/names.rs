//! Name tables with frequency weights, and the variant tables (nicknames, English forms) the
//! error model draws from.
//!
//! Weights are rough relative frequencies (per 10,000 bearers) taken from the shape of public
//! surname and given-name statistics for each country: the head is steep (Hernández, García,
//! López), the tail is long and flat (Tzunún, Ixcoy). Because the tables are truncated, the
//! common names end up somewhat *more* common than in life, which makes linkage harder, not
//! easier. Every string here is encodable in Windows-1252 (the MX file's encoding).

/// A weighted table: each entry's weight is relative to the others.
pub type Table = &'static [(&'static str, u32)];

/// Surnames common in Mexico.
pub const SURNAMES_MX: Table = &[
    ("Hernández", 390),
    ("García", 250),
    ("Martínez", 220),
    ("López", 210),
    ("González", 190),
    ("Pérez", 140),
    ("Rodríguez", 140),
    ("Sánchez", 130),
    ("Ramírez", 120),
    ("Cruz", 90),
    ("Flores", 90),
    ("Gómez", 80),
    ("Morales", 70),
    ("Vázquez", 70),
    ("Reyes", 70),
    ("Jiménez", 65),
    ("Torres", 65),
    ("Díaz", 60),
    ("Gutiérrez", 60),
    ("Ruiz", 55),
    ("Mendoza", 55),
    ("Aguilar", 52),
    ("Ortiz", 50),
    ("Moreno", 48),
    ("Castillo", 46),
    ("Romero", 45),
    ("Álvarez", 44),
    ("Méndez", 43),
    ("Chávez", 42),
    ("Rivera", 41),
    ("Juárez", 40),
    ("Ramos", 39),
    ("Domínguez", 37),
    ("Herrera", 36),
    ("Medina", 35),
    ("Castro", 34),
    ("Vargas", 33),
    ("Guzmán", 32),
    ("Velázquez", 31),
    ("Muñoz", 30),
    ("Rojas", 29),
    ("Contreras", 28),
    ("Salazar", 27),
    ("Luna", 26),
    ("Ortega", 26),
    ("Santiago", 25),
    ("Guerrero", 25),
    ("Estrada", 24),
    ("Bautista", 24),
    ("Cortés", 23),
    ("Soto", 23),
    ("Alvarado", 22),
    ("Espinoza", 22),
    ("Lara", 21),
    ("Ávila", 21),
    ("Ríos", 20),
    ("Cervantes", 20),
    ("Silva", 19),
    ("Delgado", 19),
    ("Vega", 18),
    ("Márquez", 18),
    ("Sandoval", 17),
    ("Carrillo", 17),
    ("León", 16),
    ("Mejía", 16),
    ("Solís", 15),
    ("Núñez", 15),
    ("Rosas", 14),
    ("Valdez", 14),
    ("Ibarra", 13),
    ("Campos", 13),
    ("Cabrera", 12),
    ("Navarro", 12),
    ("Acosta", 12),
    ("de la Cruz", 11),
    ("Peña", 11),
    ("Zúñiga", 10),
    ("Maldonado", 10),
    ("Gallegos", 9),
    ("del Ángel", 8),
    ("Villanueva", 8),
    ("Trejo", 7),
    ("Olvera", 7),
    ("Tapia", 6),
    ("Barrera", 6),
    ("Zavala", 5),
    ("Arellano", 5),
    ("Quiroz", 5),
    ("del Valle", 4),
    ("Yáñez", 4),
    ("Xochitiotzi", 2),
    ("Cuautle", 2),
    ("Tlatelpa", 1),
];

/// Surnames common in Guatemala, Spanish and Mayan.
pub const SURNAMES_GT: Table = &[
    ("López", 300),
    ("García", 260),
    ("Pérez", 230),
    ("Hernández", 200),
    ("González", 180),
    ("Rodríguez", 140),
    ("Morales", 130),
    ("Ramírez", 110),
    ("Méndez", 100),
    ("Martínez", 95),
    ("Ramos", 80),
    ("Juárez", 75),
    ("Cruz", 70),
    ("Gómez", 65),
    ("Sánchez", 60),
    ("Orellana", 55),
    ("Chávez", 50),
    ("Reyes", 48),
    ("Castillo", 46),
    ("Vásquez", 45),
    ("Velásquez", 42),
    ("Mejía", 40),
    ("Xol", 40),
    ("Caal", 38),
    ("Choc", 36),
    ("Pop", 34),
    ("Coc", 30),
    ("Tzul", 26),
    ("Cux", 24),
    ("Chen", 22),
    ("Tiul", 20),
    ("Bol", 20),
    ("Cac", 18),
    ("Ical", 17),
    ("Maquín", 16),
    ("Chub", 15),
    ("Tut", 14),
    ("Sis", 13),
    ("Quiej", 12),
    ("Batz", 12),
    ("Ixcoy", 10),
    ("Tuyuc", 10),
    ("Chavajay", 9),
    ("Sicán", 9),
    ("Ajcot", 8),
    ("Tzoc", 8),
    ("Coj", 8),
    ("Yat", 7),
    ("Xicará", 7),
    ("Sajché", 6),
    ("Chiquín", 6),
    ("Cucul", 6),
    ("Tumax", 5),
    ("Ixcot", 5),
    ("Sacul", 5),
    ("Tzunún", 4),
    ("Tax", 4),
    ("Macz", 3),
    ("de León", 12),
    ("de la Cruz", 10),
    ("Escobar", 20),
    ("Marroquín", 15),
    ("Barrios", 18),
    ("Fuentes", 16),
    ("Monzón", 10),
    ("Aguilar", 30),
    ("Cifuentes", 12),
    ("Cardona", 14),
];

/// Surnames common in Honduras and El Salvador.
pub const SURNAMES_CA: Table = &[
    ("Hernández", 300),
    ("López", 220),
    ("Martínez", 200),
    ("Rodríguez", 180),
    ("García", 170),
    ("González", 150),
    ("Cruz", 120),
    ("Flores", 110),
    ("Reyes", 100),
    ("Mejía", 90),
    ("Pérez", 85),
    ("Ramírez", 80),
    ("Sánchez", 75),
    ("Castro", 60),
    ("Romero", 55),
    ("Ramos", 55),
    ("Aguilar", 50),
    ("Díaz", 48),
    ("Portillo", 46),
    ("Rivera", 45),
    ("Alvarado", 42),
    ("Velásquez", 40),
    ("Zelaya", 38),
    ("Amaya", 34),
    ("Maradiaga", 30),
    ("Ayala", 28),
    ("Argueta", 28),
    ("Guevara", 26),
    ("Bonilla", 25),
    ("Orellana", 24),
    ("Escobar", 23),
    ("Funes", 20),
    ("Cáceres", 18),
    ("Banegas", 16),
    ("Mendoza", 22),
    ("Paz", 18),
    ("Turcios", 14),
    ("Chicas", 12),
    ("Lemus", 12),
    ("Membreño", 10),
    ("Alvarenga", 10),
    ("Canales", 10),
    ("Villatoro", 8),
    ("Sorto", 6),
    ("Ulloa", 6),
];

/// Men's first given names, Mexico.
pub const MALE_MX: Table = &[
    ("José", 600),
    ("Juan", 450),
    ("Luis", 200),
    ("Carlos", 180),
    ("Jesús", 170),
    ("Miguel", 160),
    ("Francisco", 150),
    ("Jorge", 120),
    ("Pedro", 100),
    ("Alejandro", 100),
    ("Manuel", 90),
    ("Ricardo", 80),
    ("Fernando", 75),
    ("Roberto", 70),
    ("Daniel", 70),
    ("Eduardo", 65),
    ("Javier", 60),
    ("Rafael", 55),
    ("Martín", 50),
    ("Arturo", 45),
    ("Sergio", 45),
    ("Mario", 45),
    ("Raúl", 40),
    ("Alberto", 40),
    ("Héctor", 40),
    ("Víctor", 38),
    ("Ramón", 30),
    ("Enrique", 30),
    ("Gerardo", 30),
    ("Salvador", 28),
    ("Antonio", 28),
    ("Andrés", 25),
    ("Óscar", 25),
    ("Ángel", 25),
    ("Ernesto", 20),
    ("Rubén", 20),
    ("Hugo", 18),
    ("Marco", 18),
    ("Édgar", 15),
    ("Iván", 15),
    ("Guillermo", 15),
    ("Ignacio", 12),
    ("Brayan", 10),
    ("Refugio", 6),
];

/// Men's second given names (after the first), all countries.
pub const MALE_SECOND: Table = &[
    ("Luis", 200),
    ("Antonio", 180),
    ("Carlos", 150),
    ("Manuel", 120),
    ("Ángel", 110),
    ("Guadalupe", 70),
    ("Alberto", 60),
    ("Francisco", 60),
    ("Alfredo", 40),
    ("Armando", 40),
    ("de Jesús", 40),
    ("Miguel", 40),
    ("Eduardo", 35),
    ("Enrique", 35),
    ("Daniel", 30),
    ("Alejandro", 30),
    ("César", 30),
    ("Ramón", 25),
    ("David", 25),
    ("Javier", 25),
    ("Fernando", 20),
    ("Rolando", 15),
    ("Ernesto", 15),
    ("Abel", 10),
];

/// Women's first given names, Mexico.
pub const FEMALE_MX: Table = &[
    ("María", 900),
    ("Guadalupe", 120),
    ("Juana", 90),
    ("Ana", 90),
    ("Rosa", 70),
    ("Margarita", 60),
    ("Verónica", 55),
    ("Elizabeth", 50),
    ("Leticia", 50),
    ("Patricia", 45),
    ("Alejandra", 45),
    ("Gabriela", 40),
    ("Adriana", 40),
    ("Yolanda", 35),
    ("Teresa", 35),
    ("Araceli", 30),
    ("Silvia", 30),
    ("Claudia", 30),
    ("Martha", 28),
    ("Josefina", 25),
    ("Sandra", 25),
    ("Lucía", 22),
    ("Karla", 22),
    ("Mónica", 20),
    ("Blanca", 18),
    ("Norma", 18),
    ("Fernanda", 16),
    ("Daniela", 16),
    ("Yesenia", 14),
    ("Dulce", 14),
    ("Maricela", 12),
    ("Esmeralda", 12),
    ("Brenda", 12),
    ("Ximena", 10),
    ("Dolores", 10),
    ("Concepción", 8),
    ("Rosario", 8),
    ("Isabel", 8),
];

/// Women's second given names, all countries ("María de los Ángeles" = María + de los Ángeles).
pub const FEMALE_SECOND: Table = &[
    ("Guadalupe", 200),
    ("de los Ángeles", 120),
    ("del Carmen", 110),
    ("Elena", 90),
    ("Isabel", 80),
    ("Fernanda", 60),
    ("José", 50),
    ("de Jesús", 50),
    ("Teresa", 45),
    ("Luisa", 40),
    ("Alejandra", 40),
    ("Margarita", 35),
    ("de la Luz", 35),
    ("Esther", 30),
    ("Eugenia", 25),
    ("Magdalena", 25),
    ("Yolanda", 20),
    ("Beatriz", 20),
    ("Lorena", 20),
    ("Marisol", 15),
];

/// Men's first given names, Guatemala (Spanish and the saints' names common in Mayan towns).
pub const MALE_GT: Table = &[
    ("Juan", 400),
    ("José", 350),
    ("Pedro", 150),
    ("Carlos", 140),
    ("Luis", 120),
    ("Marvin", 80),
    ("Byron", 70),
    ("Edgar", 70),
    ("Mynor", 60),
    ("Selvin", 55),
    ("Wilson", 50),
    ("Elmer", 50),
    ("Kevin", 50),
    ("Erick", 45),
    ("Jorge", 45),
    ("Francisco", 45),
    ("Domingo", 40),
    ("Sebastián", 40),
    ("Diego", 35),
    ("Tomás", 35),
    ("Gaspar", 30),
    ("Baltazar", 25),
    ("Manuel", 30),
    ("Santos", 28),
    ("Cristóbal", 20),
    ("Nicolás", 20),
    ("Mario", 20),
    ("Otto", 12),
    ("Melvin", 15),
    ("Walter", 15),
    ("Cristian", 15),
    ("Rony", 10),
];

/// Women's first given names, Guatemala.
pub const FEMALE_GT: Table = &[
    ("María", 700),
    ("Ana", 150),
    ("Rosa", 90),
    ("Marta", 70),
    ("Juana", 70),
    ("Sandra", 50),
    ("Glenda", 35),
    ("Heidy", 30),
    ("Ingrid", 30),
    ("Mildred", 25),
    ("Yesenia", 25),
    ("Olga", 25),
    ("Candelaria", 20),
    ("Santa", 18),
    ("Petrona", 22),
    ("Catarina", 25),
    ("Manuela", 18),
    ("Dominga", 15),
    ("Sebastiana", 12),
    ("Magdalena", 15),
    ("Lucía", 15),
    ("Elena", 12),
];

/// Men's first given names, Honduras and El Salvador.
pub const MALE_CA: Table = &[
    ("José", 450),
    ("Juan", 250),
    ("Carlos", 180),
    ("Luis", 140),
    ("Kevin", 90),
    ("Jorge", 80),
    ("Wilmer", 60),
    ("Marvin", 60),
    ("Elvin", 45),
    ("Óscar", 45),
    ("Nelson", 40),
    ("Denis", 40),
    ("Edwin", 40),
    ("Brayan", 40),
    ("Josué", 35),
    ("Mario", 30),
    ("Francisco", 30),
    ("Santos", 28),
    ("Jonathan", 25),
    ("Walter", 25),
    ("Jesús", 20),
    ("Roberto", 20),
];

/// Women's first given names, Honduras and El Salvador.
pub const FEMALE_CA: Table = &[
    ("María", 550),
    ("Ana", 140),
    ("Karla", 60),
    ("Dania", 40),
    ("Yessenia", 40),
    ("Sonia", 40),
    ("Iris", 35),
    ("Glenda", 30),
    ("Suyapa", 30),
    ("Wendy", 30),
    ("Lesly", 25),
    ("Rosa", 50),
    ("Sandra", 35),
    ("Ruth", 25),
    ("Marlene", 20),
    ("Jennifer", 20),
    ("Digna", 15),
    ("Guadalupe", 20),
];

/// Nicknames agencies record in place of a given name.
pub const NICKNAMES: &[(&str, &str)] = &[
    ("Guadalupe", "Lupe"),
    ("Jesús", "Chuy"),
    ("José", "Pepe"),
    ("Francisco", "Pancho"),
    ("Ignacio", "Nacho"),
    ("Enrique", "Quique"),
    ("Alejandro", "Alex"),
    ("Roberto", "Beto"),
    ("Alberto", "Beto"),
    ("Concepción", "Concha"),
    ("Dolores", "Lola"),
    ("Rosario", "Chayo"),
    ("Eduardo", "Lalo"),
    ("Rafael", "Rafa"),
    ("Guillermo", "Memo"),
    ("Refugio", "Cuca"),
    ("Salvador", "Chava"),
    ("Antonio", "Toño"),
    ("Isabel", "Chabela"),
    ("Manuel", "Manolo"),
    ("Santiago", "Chago"),
    ("Margarita", "Mago"),
    ("Daniel", "Dani"),
];

/// English forms US records sometimes carry.
pub const ANGLICISED: &[(&str, &str)] = &[
    ("José", "Joseph"),
    ("Juan", "John"),
    ("Pedro", "Peter"),
    ("Miguel", "Michael"),
    ("Guillermo", "William"),
    ("Carlos", "Charles"),
    ("Jorge", "George"),
    ("Francisco", "Frank"),
    ("Enrique", "Henry"),
    ("Roberto", "Robert"),
    ("Ricardo", "Richard"),
    ("Eduardo", "Edward"),
    ("Alejandro", "Alexander"),
    ("Antonio", "Anthony"),
    ("Tomás", "Thomas"),
    ("Andrés", "Andrew"),
    ("Jesús", "Jesse"),
    ("María", "Mary"),
    ("Juana", "Jane"),
    ("Teresa", "Theresa"),
    ("Rosa", "Rose"),
    ("Margarita", "Margaret"),
    ("Catarina", "Catherine"),
    ("Elena", "Helen"),
    ("Luis", "Louis"),
    ("Ana", "Anna"),
    ("Lucía", "Lucy"),
];

/// US Border Patrol sectors on the southwest border.
pub const US_SECTORS: Table = &[
    ("RIO GRANDE VALLEY", 300),
    ("DEL RIO", 150),
    ("EL PASO", 150),
    ("TUCSON", 140),
    ("SAN DIEGO", 110),
    ("LAREDO", 80),
    ("YUMA", 60),
    ("EL CENTRO", 50),
    ("BIG BEND", 10),
];

/// Places where the Mexican registry records people.
pub const MX_PLACES: Table = &[
    ("Tapachula, Chiapas", 250),
    ("Ciudad Hidalgo, Chiapas", 80),
    ("Tenosique, Tabasco", 60),
    ("Villahermosa, Tabasco", 50),
    ("Acayucan, Veracruz", 50),
    ("Ciudad de México", 60),
    ("Puebla, Puebla", 30),
    ("San Luis Potosí, S.L.P.", 30),
    ("Reynosa, Tamaulipas", 90),
    ("Matamoros, Tamaulipas", 60),
    ("Nuevo Laredo, Tamaulipas", 60),
    ("Piedras Negras, Coahuila", 50),
    ("Ciudad Juárez, Chihuahua", 90),
    ("Nogales, Sonora", 40),
    ("San Luis Río Colorado, Sonora", 30),
    ("Mexicali, Baja California", 30),
    ("Tijuana, Baja California", 80),
];

/// Places where the Guatemalan registry records people.
pub const GT_PLACES: Table = &[
    ("Tecún Umán, San Marcos", 200),
    ("El Carmen, San Marcos", 80),
    ("La Mesilla, Huehuetenango", 120),
    ("Gracias a Dios, Huehuetenango", 50),
    ("El Ceibo, Petén", 60),
    ("Agua Caliente, Chiquimula", 60),
    ("Pedro de Alvarado, Jutiapa", 50),
    ("Corinto, Izabal", 40),
    ("Centro de Recepción de Retornados, Guatemala", 150),
    ("Aeropuerto La Aurora, Guatemala", 100),
];

/// Cumulative weights of a table, for sampling by binary search.
#[derive(Debug, Clone)]
pub struct Sampler {
    table: Table,
    cumulative: Vec<u32>,
}

impl Sampler {
    pub fn new(table: Table) -> Sampler {
        let mut total = 0u32;
        let cumulative = table
            .iter()
            .map(|&(_, w)| {
                total += w;
                total
            })
            .collect();
        Sampler { table, cumulative }
    }

    /// Draws one entry by weight.
    pub fn pick<R: rand::Rng>(&self, rng: &mut R) -> &'static str {
        let total = self.cumulative.last().copied().unwrap_or(0);
        if total == 0 {
            return "";
        }
        let x = rng.random_range(0..total);
        let i = self.cumulative.partition_point(|&c| c <= x);
        self.table[i.min(self.table.len() - 1)].0
    }

    /// One of the `n` most frequent entries (tables are ordered by weight, roughly).
    pub fn pick_top<R: rand::Rng>(&self, rng: &mut R, n: usize) -> &'static str {
        let n = n.clamp(1, self.table.len());
        self.table[rng.random_range(0..n)].0
    }
}

/// Looks `name` up in a pair table.
pub fn lookup(pairs: &[(&'static str, &'static str)], name: &str) -> Option<&'static str> {
    pairs
        .iter()
        .find(|(from, _)| *from == name)
        .map(|(_, to)| *to)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_string_is_windows_1252() {
        let tables: &[Table] = &[
            SURNAMES_MX,
            SURNAMES_GT,
            SURNAMES_CA,
            MALE_MX,
            MALE_SECOND,
            FEMALE_MX,
            FEMALE_SECOND,
            MALE_GT,
            FEMALE_GT,
            MALE_CA,
            FEMALE_CA,
            US_SECTORS,
            MX_PLACES,
            GT_PLACES,
        ];
        for t in tables {
            for (s, w) in t.iter() {
                assert!(*w > 0);
                let (_, _, bad) = encoding_rs::WINDOWS_1252.encode(s);
                assert!(!bad, "{s}");
            }
        }
        for (a, b) in NICKNAMES.iter().chain(ANGLICISED) {
            assert!(
                !encoding_rs::WINDOWS_1252.encode(a).2 && !encoding_rs::WINDOWS_1252.encode(b).2
            );
        }
    }
}
