// The catalog of synthetic table domains: realistic column names and value pools.
// Every value is stored as text (AgentBench creates each task's table with TEXT columns).

/// How the values of a column are drawn.
public enum ValueKind: Sendable {
    /// "First Last" person names.
    case person
    /// Names drawn from a list (keys stay unique within a table).
    case pool([String])
    /// Two-part names: one word from each list ("Silent River", "Apex Labs").
    case compound([String], [String])
    /// A few categories per table (3-6 of the list), shared by many rows: the columns questions filter on.
    case category([String])
    /// Integers in a range.
    case int(Int, Int)
    /// Decimals in a range, formatted with `places` digits.
    case decimal(Double, Double, Int)
    /// Years.
    case year(Int, Int)
    /// Dates written like "March 19, 1998".
    case date(Int, Int)
    /// A code from a pattern: ? = upper-case letter, # = digit, other characters kept ("??-###").
    case code(String)

    var isNumeric: Bool {
        switch self {
        case .int, .decimal, .year: return true
        default: return false
        }
    }
}

/// One column: its header alternatives (one is picked per table) and how a question names it.
public struct ColumnSpec: Sendable {
    public let names: [String]
    public let phrase: String
    public let kind: ValueKind
    public init(_ names: [String], _ phrase: String, _ kind: ValueKind) {
        self.names = names; self.phrase = phrase; self.kind = kind
    }
}

/// A domain: table name alternatives, what a row is (singular/plural), and columns; the first column is the key.
public struct Domain: Sendable {
    public let id: String
    public let tableNames: [String]
    public let entity: String
    public let entities: String
    public let columns: [ColumnSpec]
}

enum Pools {
    static let firstNames = [
        "James", "Maria", "Robert", "Linda", "Michael", "Aisha", "David", "Sofia", "Daniel", "Emma", "Kenji", "Olivia",
        "Carlos", "Priya", "Lucas", "Chloe", "Ahmed", "Hannah", "Mateo", "Grace", "Ivan", "Zoe", "Wei", "Laura", "Omar",
        "Nina", "Pedro", "Ingrid", "Samuel", "Fatima", "Noah", "Elena", "Thomas", "Yuki", "Felix", "Amara", "Jonas",
        "Clara", "Ravi", "Isabel", "Liam", "Mei", "Andre", "Julia", "Tariq", "Sara", "Viktor", "Leah", "Diego", "Anya",
        "Patrick", "Rosa", "Hugo", "Naomi", "Marcus", "Helen", "Oscar", "Irene", "Kwame", "Alice",
    ]
    static let lastNames = [
        "Smith", "Garcia", "Johnson", "Nguyen", "Brown", "Muller", "Rossi", "Tanaka", "Kowalski", "Silva", "Jensen",
        "Okafor", "Martin", "Ivanova", "Lopez", "Chen", "Andersson", "Patel", "Dubois", "Novak", "Fischer", "Costa",
        "Walker", "Kim", "Haddad", "Moreau", "Schmidt", "Santos", "Hughes", "Sato", "Larsen", "Bianchi", "Reyes",
        "Clarke", "Nakamura", "Petrov", "Osei", "Ward", "Lindqvist", "Romero", "O'Brien", "Baker", "Yilmaz", "Adams",
        "Fernandez", "Kaur", "Wright", "Horvat", "Mensah", "Turner",
    ]
    static let cities = [
        "Springfield", "Riverton", "Lakeside", "Fairview", "Georgetown", "Madison", "Oakland", "Portland", "Salem",
        "Denver", "Austin", "Boston", "Chicago", "Seattle", "Phoenix", "Dallas", "Atlanta", "Miami", "Toronto",
        "Vancouver", "Dublin", "Lyon", "Munich", "Porto", "Osaka", "Melbourne", "Auckland", "Cape Town", "Nairobi",
        "Lima", "Bogota", "Krakow", "Gothenburg", "Bilbao", "Turin", "Leeds", "Glasgow", "Quebec", "Calgary", "Perth",
    ]
    static let countries = [
        "Canada", "Brazil", "Japan", "Germany", "France", "Kenya", "India", "Mexico", "Spain", "Italy", "Norway",
        "Egypt", "Chile", "Poland", "Ghana", "Sweden", "Vietnam", "Australia", "Portugal", "Peru", "Turkey", "Ireland",
        "Argentina", "Nigeria", "Finland", "Greece", "Morocco", "Austria", "Colombia", "Denmark",
    ]
    static let adjectives = [
        "Silent", "Golden", "Broken", "Hidden", "Crimson", "Endless", "Last", "Midnight", "Frozen", "Wild", "Distant",
        "Secret", "Burning", "Lost", "Electric", "Quiet", "Iron", "Blue", "Savage", "Gentle", "Northern", "Paper",
        "Velvet", "Hollow", "Brave", "Shadow", "Bright", "Ancient", "Restless", "Scarlet",
    ]
    static let nouns = [
        "River", "Empire", "Garden", "Horizon", "Storm", "Kingdom", "Mirror", "Harbor", "Voyage", "Forest", "Signal",
        "Promise", "Frontier", "Echo", "Island", "Station", "Crown", "Desert", "Letter", "Winter", "Circuit", "Tide",
        "Lantern", "Summit", "Orchard", "Bridge", "Canyon", "Spark", "Compass", "Meadow",
    ]
}

/// All domains the generator draws tables from.
public enum DomainCatalog {
    public static let all: [Domain] = [
        Domain(id: "sports_players", tableNames: ["Player Statistics", "player_stats", "Season Scoring Leaders", "Squad Roster"],
               entity: "player", entities: "players", columns: [
                ColumnSpec(["Player", "Player Name"], "player", .person),
                ColumnSpec(["Team", "Club"], "team", .category(["Lions", "Eagles", "Sharks", "Wolves", "Tigers", "Falcons", "Bears", "Rovers", "United", "Rangers"])),
                ColumnSpec(["Position"], "position", .category(["Forward", "Midfielder", "Defender", "Goalkeeper", "Winger"])),
                ColumnSpec(["Goals", "Goals Scored"], "goals", .int(0, 35)),
                ColumnSpec(["Assists"], "assists", .int(0, 20)),
                ColumnSpec(["Games Played", "Apps"], "games played", .int(5, 38)),
                ColumnSpec(["Age"], "age", .int(18, 37)),
                ColumnSpec(["Nationality", "Country"], "nationality", .category(Pools.countries)),
               ]),
        Domain(id: "game_results", tableNames: ["Season Results", "game_results", "Match Schedule", "Fixtures and Results"],
               entity: "game", entities: "games", columns: [
                ColumnSpec(["Date", "Game Date"], "date", .date(2015, 2023)),
                ColumnSpec(["Opponent"], "opponent", .category(["Lions", "Eagles", "Sharks", "Wolves", "Tigers", "Falcons", "Bears", "Rovers", "Comets", "Giants"])),
                ColumnSpec(["Venue", "Location"], "venue", .category(["Home", "Away", "Neutral"])),
                ColumnSpec(["Result"], "result", .category(["Win", "Loss", "Draw"])),
                ColumnSpec(["Points For", "Score For"], "points scored", .int(0, 45)),
                ColumnSpec(["Points Against", "Score Against"], "points conceded", .int(0, 45)),
                ColumnSpec(["Attendance", "Crowd"], "attendance", .int(1200, 68000)),
               ]),
        Domain(id: "stocks", tableNames: ["Stock Prices", "stock_quotes", "Market Watchlist", "Equity Holdings"],
               entity: "stock", entities: "stocks", columns: [
                ColumnSpec(["Ticker", "Symbol"], "ticker", .code("????")),
                ColumnSpec(["Company", "Company Name"], "company", .compound(["Apex", "Blue", "Nova", "Summit", "Vertex", "Pioneer", "Crescent", "Harbor", "Quantum", "Evergreen", "Atlas", "Orion"], ["Holdings", "Systems", "Energy", "Foods", "Labs", "Motors", "Capital", "Pharma", "Networks", "Logistics"])),
                ColumnSpec(["Sector"], "sector", .category(["Technology", "Healthcare", "Energy", "Finance", "Retail", "Industrials", "Utilities"])),
                ColumnSpec(["Price", "Closing Price"], "price", .decimal(3, 950, 2)),
                ColumnSpec(["Volume", "Shares Traded"], "volume", .int(1000, 900000)),
                ColumnSpec(["Dividend Yield", "Yield (%)"], "dividend yield", .decimal(0, 7, 2)),
                ColumnSpec(["Exchange"], "exchange", .category(["NYSE", "NASDAQ", "LSE", "TSX", "Euronext"])),
               ]),
        Domain(id: "transactions", tableNames: ["Bank Transactions", "transactions", "Account Ledger", "Expense Report"],
               entity: "transaction", entities: "transactions", columns: [
                ColumnSpec(["Transaction ID", "Reference"], "transaction ID", .code("TXN-#####")),
                ColumnSpec(["Account Holder", "Customer"], "account holder", .category(Pools.firstNames.map { $0 + " " + Pools.lastNames[$0.count % Pools.lastNames.count] })),
                ColumnSpec(["Category", "Type"], "category", .category(["Groceries", "Rent", "Travel", "Utilities", "Dining", "Salary", "Insurance", "Entertainment"])),
                ColumnSpec(["Amount", "Amount (USD)"], "amount", .decimal(5, 4500, 2)),
                ColumnSpec(["Date", "Posted On"], "date", .date(2021, 2024)),
                ColumnSpec(["Status"], "status", .category(["Completed", "Pending", "Failed", "Refunded"])),
               ]),
        Domain(id: "students", tableNames: ["Student Grades", "students", "Class Roster", "Exam Results"],
               entity: "student", entities: "students", columns: [
                ColumnSpec(["Student", "Student Name", "Name"], "student", .person),
                ColumnSpec(["Grade Level", "Year Group"], "grade level", .category(["9th", "10th", "11th", "12th"])),
                ColumnSpec(["Homeroom", "Class"], "class", .category(["A", "B", "C", "D", "E"])),
                ColumnSpec(["Math Score", "Math"], "math score", .int(35, 100)),
                ColumnSpec(["Science Score", "Science"], "science score", .int(35, 100)),
                ColumnSpec(["Absences", "Days Absent"], "absences", .int(0, 25)),
                ColumnSpec(["Advisor", "Teacher"], "teacher", .category(["Ms. Carter", "Mr. Patel", "Dr. Nguyen", "Mrs. Okafor", "Mr. Rossi", "Ms. Lindqvist"])),
               ]),
        Domain(id: "schools", tableNames: ["Schools in the District", "school_directory", "Primary Schools", "High Schools"],
               entity: "school", entities: "schools", columns: [
                ColumnSpec(["School", "School Name", "Name"], "school", .compound(Pools.cities + ["Riverside", "Hillcrest", "Maple", "Oakwood", "Lincoln", "Jefferson", "Westfield", "Sunnydale"], ["Elementary", "High School", "Academy", "Middle School", "Primary School", "Grammar School"])),
                ColumnSpec(["District", "Area"], "district", .category(["North", "South", "East", "West", "Central"])),
                ColumnSpec(["Enrollment", "Students"], "enrollment", .int(120, 2400)),
                ColumnSpec(["Founded", "Year Opened"], "year founded", .year(1890, 2015)),
                ColumnSpec(["Principal"], "principal", .person),
                ColumnSpec(["Type"], "type", .category(["Public", "Private", "Charter", "Magnet"])),
               ]),
        Domain(id: "products", tableNames: ["Product Catalog", "products", "Store Inventory", "Online Shop Listings"],
               entity: "product", entities: "products", columns: [
                ColumnSpec(["Product", "Product Name", "Item"], "product", .compound(["Ultra", "Smart", "Eco", "Pro", "Mini", "Classic", "Turbo", "Prime", "Flex", "Zen", "Aero", "Max"], ["Blender", "Kettle", "Headphones", "Backpack", "Lamp", "Keyboard", "Monitor", "Toaster", "Speaker", "Chair", "Watch", "Camera", "Drill", "Mixer"])),
                ColumnSpec(["Category", "Department"], "category", .category(["Electronics", "Kitchen", "Furniture", "Outdoors", "Office", "Tools", "Audio"])),
                ColumnSpec(["Brand", "Manufacturer"], "brand", .category(["Acme", "Northwind", "Contoso", "Globex", "Initech", "Umbrella", "Vandelay", "Stark"])),
                ColumnSpec(["Price", "Unit Price"], "price", .decimal(4, 1200, 2)),
                ColumnSpec(["Stock", "Units in Stock", "Quantity"], "stock", .int(0, 500)),
                ColumnSpec(["Rating", "Customer Rating"], "rating", .decimal(1, 5, 1)),
               ]),
        Domain(id: "orders", tableNames: ["Customer Orders", "orders", "Sales Orders", "Order History"],
               entity: "order", entities: "orders", columns: [
                ColumnSpec(["Order ID", "Order Number"], "order ID", .code("ORD-####")),
                ColumnSpec(["Customer", "Customer Name"], "customer", .category(Pools.lastNames.map { "Ms. " + $0 } + ["Acme Corp", "Globex Ltd", "Initech"])),
                ColumnSpec(["Region", "Sales Region"], "region", .category(["North America", "Europe", "Asia", "South America", "Africa", "Oceania"])),
                ColumnSpec(["Quantity", "Units"], "quantity", .int(1, 250)),
                ColumnSpec(["Total", "Order Total"], "order total", .decimal(10, 9000, 2)),
                ColumnSpec(["Order Date", "Date"], "order date", .date(2020, 2024)),
                ColumnSpec(["Shipping", "Ship Mode"], "shipping method", .category(["Standard", "Express", "Overnight", "Pickup"])),
               ]),
        Domain(id: "movies", tableNames: ["Films", "movies", "Box Office Results", "Filmography"],
               entity: "film", entities: "films", columns: [
                ColumnSpec(["Title", "Film", "Movie"], "title", .compound(Pools.adjectives.map { "The " + $0 }, Pools.nouns)),
                ColumnSpec(["Director"], "director", .person),
                ColumnSpec(["Genre"], "genre", .category(["Drama", "Comedy", "Thriller", "Horror", "Animation", "Documentary", "Science Fiction", "Romance"])),
                ColumnSpec(["Year", "Release Year"], "release year", .year(1975, 2023)),
                ColumnSpec(["Box Office (millions)", "Gross"], "box office gross", .decimal(0.5, 900, 1)),
                ColumnSpec(["Runtime (min)", "Running Time"], "running time", .int(78, 190)),
                ColumnSpec(["Rating", "Score"], "rating", .decimal(2, 9.8, 1)),
               ]),
        Domain(id: "employees", tableNames: ["Employees", "employee_records", "Staff Directory", "Payroll"],
               entity: "employee", entities: "employees", columns: [
                ColumnSpec(["Employee", "Name", "Employee Name"], "employee", .person),
                ColumnSpec(["Department", "Dept"], "department", .category(["Sales", "Engineering", "Marketing", "Finance", "Human Resources", "Support", "Legal", "Operations"])),
                ColumnSpec(["Job Title", "Title", "Role"], "job title", .category(["Analyst", "Manager", "Engineer", "Specialist", "Coordinator", "Director", "Associate"])),
                ColumnSpec(["Salary", "Annual Salary"], "salary", .int(32000, 185000)),
                ColumnSpec(["Hire Year", "Year Hired"], "hire year", .year(1998, 2024)),
                ColumnSpec(["Office", "City"], "office", .category(Pools.cities)),
                ColumnSpec(["Vacation Days", "PTO Days"], "vacation days", .int(5, 30)),
               ]),
        Domain(id: "cities", tableNames: ["Largest Cities", "city_statistics", "Municipalities", "Urban Areas"],
               entity: "city", entities: "cities", columns: [
                ColumnSpec(["City", "Municipality"], "city", .pool(Pools.cities + ["Hamilton", "Bristol", "Hanover", "Ottawa", "Graz", "Malmo", "Utrecht", "Ghent", "Split", "Cork"])),
                ColumnSpec(["Country"], "country", .category(Pools.countries)),
                ColumnSpec(["Population"], "population", .int(40000, 9500000)),
                ColumnSpec(["Area (km2)", "Area"], "area", .decimal(20, 3000, 1)),
                ColumnSpec(["Founded", "Year Founded"], "year founded", .year(800, 1950)),
                ColumnSpec(["Mayor"], "mayor", .person),
               ]),
        Domain(id: "albums", tableNames: ["Discography", "albums", "Album Sales", "Music Releases"],
               entity: "album", entities: "albums", columns: [
                ColumnSpec(["Album", "Album Title"], "album", .compound(Pools.adjectives, Pools.nouns.map { $0 + "s" })),
                ColumnSpec(["Artist"], "artist", .category(["The Rivets", "Luna Park", "Mara Quinn", "Static Bloom", "Jonah Vale", "Neon Harbor", "Ella Moss", "The Copper Kings"])),
                ColumnSpec(["Genre"], "genre", .category(["Rock", "Pop", "Jazz", "Hip Hop", "Folk", "Electronic", "Country"])),
                ColumnSpec(["Year", "Released"], "release year", .year(1965, 2023)),
                ColumnSpec(["Copies Sold", "Sales"], "copies sold", .int(5000, 4000000)),
                ColumnSpec(["Tracks", "Number of Tracks"], "number of tracks", .int(6, 22)),
                ColumnSpec(["Label", "Record Label"], "record label", .category(["Harbor Records", "Blue Note Sound", "Sunset Music", "Iron Gate", "Polar Tunes"])),
               ]),
        Domain(id: "books", tableNames: ["Library Catalog", "books", "Bestsellers", "Reading List"],
               entity: "book", entities: "books", columns: [
                ColumnSpec(["Title", "Book Title"], "title", .compound(Pools.adjectives.map { "The " + $0 }, Pools.nouns)),
                ColumnSpec(["Author"], "author", .person),
                ColumnSpec(["Publisher"], "publisher", .category(["Penguin", "Harper", "Vintage", "Orbit", "Tor", "Scribner", "Knopf"])),
                ColumnSpec(["Year Published", "Year"], "publication year", .year(1950, 2024)),
                ColumnSpec(["Pages", "Page Count"], "number of pages", .int(90, 1100)),
                ColumnSpec(["Genre"], "genre", .category(["Fantasy", "Mystery", "Biography", "History", "Science", "Romance", "Poetry"])),
                ColumnSpec(["Price", "List Price"], "price", .decimal(5, 60, 2)),
               ]),
        Domain(id: "weather", tableNames: ["Daily Weather", "weather_log", "Climate Observations", "Weather Station Readings"],
               entity: "day", entities: "days", columns: [
                ColumnSpec(["Date", "Observation Date"], "date", .date(2022, 2023)),
                ColumnSpec(["Station", "City"], "station", .category(Array(Pools.cities.prefix(12)))),
                ColumnSpec(["High Temp", "Max Temperature"], "high temperature", .int(-10, 41)),
                ColumnSpec(["Low Temp", "Min Temperature"], "low temperature", .int(-25, 25)),
                ColumnSpec(["Precipitation (mm)", "Rainfall"], "precipitation", .decimal(0, 80, 1)),
                ColumnSpec(["Conditions", "Sky"], "conditions", .category(["Sunny", "Cloudy", "Rain", "Snow", "Fog", "Storm"])),
               ]),
        Domain(id: "restaurants", tableNames: ["Restaurant Guide", "restaurants", "Dining Reviews", "Local Eateries"],
               entity: "restaurant", entities: "restaurants", columns: [
                ColumnSpec(["Restaurant", "Name"], "restaurant", .compound(["Golden", "Little", "Blue", "Old", "Green", "Royal", "Lucky", "Rustic", "Urban", "Silver"], ["Spoon", "Dragon", "Olive", "Bistro", "Grill", "Kitchen", "Table", "Garden", "Lantern", "Fork"])),
                ColumnSpec(["Cuisine"], "cuisine", .category(["Italian", "Japanese", "Mexican", "Indian", "French", "Thai", "Greek", "Ethiopian"])),
                ColumnSpec(["Neighborhood", "City"], "neighborhood", .category(["Downtown", "Old Town", "Harbor", "Midtown", "Uptown", "Riverside"])),
                ColumnSpec(["Rating", "Stars"], "rating", .decimal(1, 5, 1)),
                ColumnSpec(["Seats", "Capacity"], "seating capacity", .int(12, 220)),
                ColumnSpec(["Average Price", "Avg Check"], "average price", .decimal(8, 140, 2)),
               ]),
        Domain(id: "patients", tableNames: ["Patient Admissions", "patients", "Hospital Records", "Clinic Visits"],
               entity: "patient", entities: "patients", columns: [
                ColumnSpec(["Patient", "Patient Name"], "patient", .person),
                ColumnSpec(["Age"], "age", .int(1, 96)),
                ColumnSpec(["Ward", "Department"], "ward", .category(["Cardiology", "Oncology", "Pediatrics", "Neurology", "Orthopedics", "Emergency"])),
                ColumnSpec(["Doctor", "Attending Physician"], "doctor", .category(["Dr. Haddad", "Dr. Jensen", "Dr. Sato", "Dr. Moreau", "Dr. Osei", "Dr. Reyes"])),
                ColumnSpec(["Admission Date", "Admitted"], "admission date", .date(2022, 2024)),
                ColumnSpec(["Length of Stay", "Days Admitted"], "length of stay", .int(1, 40)),
               ]),
        Domain(id: "flights", tableNames: ["Flight Schedule", "flights", "Departures", "Airline Routes"],
               entity: "flight", entities: "flights", columns: [
                ColumnSpec(["Flight", "Flight Number"], "flight number", .code("??###")),
                ColumnSpec(["Airline", "Carrier"], "airline", .category(["SkyJet", "Air Nova", "Pacific Wings", "Northern Air", "BlueLine", "Aero Sur"])),
                ColumnSpec(["Origin", "From"], "origin", .category(Array(Pools.cities.prefix(16)))),
                ColumnSpec(["Destination", "To"], "destination", .category(Array(Pools.cities.suffix(16)))),
                ColumnSpec(["Duration (min)", "Flight Time"], "flight time", .int(45, 780)),
                ColumnSpec(["Seats", "Capacity"], "number of seats", .int(50, 420)),
                ColumnSpec(["Status"], "status", .category(["On Time", "Delayed", "Cancelled", "Boarding"])),
               ]),
        Domain(id: "cars", tableNames: ["Car Models", "vehicles", "Dealer Inventory", "Automobile Specs"],
               entity: "car", entities: "cars", columns: [
                ColumnSpec(["Model", "Car Model"], "model", .compound(["Falcon", "Vector", "Ranger", "Aurora", "Pulse", "Titan", "Comet", "Nimbus", "Sierra", "Volt"], ["GT", "LX", "Sport", "Hybrid", "EV", "Touring", "XL", "S"])),
                ColumnSpec(["Manufacturer", "Make"], "manufacturer", .category(["Fordham", "Toyoda", "Hondo", "Volker", "Renard", "Kia Motors", "Subara"])),
                ColumnSpec(["Year", "Model Year"], "model year", .year(2008, 2024)),
                ColumnSpec(["Horsepower", "HP"], "horsepower", .int(70, 620)),
                ColumnSpec(["Price", "MSRP"], "price", .int(14000, 120000)),
                ColumnSpec(["Fuel Type", "Fuel"], "fuel type", .category(["Gasoline", "Diesel", "Hybrid", "Electric"])),
               ]),
        Domain(id: "elections", tableNames: ["Election Results", "election_results", "Council Elections", "Primary Results"],
               entity: "candidate", entities: "candidates", columns: [
                ColumnSpec(["Candidate"], "candidate", .person),
                ColumnSpec(["Party"], "party", .category(["Green", "Liberal", "Labour", "Conservative", "Independent", "Progressive"])),
                ColumnSpec(["District", "Constituency"], "district", .category(["District 1", "District 2", "District 3", "District 4", "District 5", "District 6"])),
                ColumnSpec(["Votes", "Votes Received"], "votes", .int(150, 90000)),
                ColumnSpec(["Vote Share (%)", "Percentage"], "vote share", .decimal(0.5, 70, 1)),
                ColumnSpec(["Incumbent"], "incumbent status", .category(["Yes", "No"])),
               ]),
        Domain(id: "athletes", tableNames: ["Olympic Medal Table", "medal_counts", "Championship Medals", "Games Medal Tally"],
               entity: "nation", entities: "nations", columns: [
                ColumnSpec(["Nation", "Country"], "nation", .pool(Pools.countries)),
                ColumnSpec(["Gold"], "gold medals", .int(0, 40)),
                ColumnSpec(["Silver"], "silver medals", .int(0, 40)),
                ColumnSpec(["Bronze"], "bronze medals", .int(0, 40)),
                ColumnSpec(["Athletes", "Team Size"], "number of athletes", .int(3, 600)),
                ColumnSpec(["Continent", "Region"], "continent", .category(["Europe", "Asia", "Africa", "Americas", "Oceania"])),
               ]),
        Domain(id: "projects", tableNames: ["Project Tracker", "projects", "Engineering Projects", "Grant Awards"],
               entity: "project", entities: "projects", columns: [
                ColumnSpec(["Project", "Project Name"], "project", .compound(["Project", "Operation", "Initiative"], Pools.nouns + Pools.adjectives)),
                ColumnSpec(["Lead", "Project Lead"], "project lead", .person),
                ColumnSpec(["Budget", "Budget (USD)"], "budget", .int(5000, 2500000)),
                ColumnSpec(["Status", "Phase"], "status", .category(["Planning", "Active", "On Hold", "Completed", "Cancelled"])),
                ColumnSpec(["Start Year", "Year Started"], "start year", .year(2012, 2025)),
                ColumnSpec(["Team Size", "Headcount"], "team size", .int(2, 60)),
               ]),
        Domain(id: "hotels", tableNames: ["Hotel Listings", "hotels", "Accommodation Guide", "Resort Directory"],
               entity: "hotel", entities: "hotels", columns: [
                ColumnSpec(["Hotel", "Hotel Name"], "hotel", .compound(["Grand", "Royal", "Harbor", "Alpine", "Palm", "Seaside", "Park", "Plaza", "Crown", "Summit"], ["Hotel", "Inn", "Suites", "Resort", "Lodge", "Palace"])),
                ColumnSpec(["City", "Location"], "city", .category(Pools.cities)),
                ColumnSpec(["Stars", "Star Rating"], "star rating", .int(1, 5)),
                ColumnSpec(["Rooms", "Number of Rooms"], "number of rooms", .int(8, 900)),
                ColumnSpec(["Nightly Rate", "Price per Night"], "nightly rate", .decimal(35, 900, 2)),
                ColumnSpec(["Opened", "Year Opened"], "opening year", .year(1890, 2023)),
               ]),
        Domain(id: "games", tableNames: ["Video Game Sales", "video_games", "Game Releases", "Top Selling Games"],
               entity: "game", entities: "games", columns: [
                ColumnSpec(["Game", "Title"], "game", .compound(Pools.adjectives, Pools.nouns.map { $0 + " Quest" } + Pools.nouns.map { $0 + " Legends" })),
                ColumnSpec(["Platform"], "platform", .category(["PC", "PlayStation", "Xbox", "Switch", "Mobile"])),
                ColumnSpec(["Genre"], "genre", .category(["Action", "Puzzle", "Racing", "Role-Playing", "Strategy", "Sports", "Shooter"])),
                ColumnSpec(["Publisher"], "publisher", .category(["Pixel Forge", "Red Comet", "Lumen Games", "Nordic Play", "Kaiju Soft"])),
                ColumnSpec(["Release Year", "Year"], "release year", .year(1995, 2024)),
                ColumnSpec(["Units Sold", "Sales"], "units sold", .int(10000, 9000000)),
               ]),
    ]
}
