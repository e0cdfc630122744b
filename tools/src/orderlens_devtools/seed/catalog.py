"""Reference data for the seed generator: markets, places, products, people, carriers."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Place:
    city: str
    state: str
    postal_code: str


@dataclass(frozen=True)
class Market:
    country_code: str
    country: str
    currency: str
    phone_prefix: str
    tax_rate: str  # share of the subtotal, as a decimal string
    price_factor: int  # local price of one USD-like unit, in whole currency units
    places: tuple[Place, ...]
    carriers: tuple[str, ...]
    payment_methods: tuple[str, ...]


MARKETS: tuple[Market, ...] = (
    Market(
        "US",
        "United States",
        "USD",
        "+1",
        "0.0825",
        1,
        (
            Place("Los Angeles", "California", "90012"),
            Place("San Jose", "California", "95113"),
            Place("Houston", "Texas", "77002"),
            Place("Austin", "Texas", "78701"),
            Place("New York", "New York", "10001"),
            Place("Miami", "Florida", "33130"),
            Place("Seattle", "Washington", "98101"),
            Place("Chicago", "Illinois", "60601"),
            Place("Phoenix", "Arizona", "85004"),
        ),
        ("USPS", "UPS", "FedEx"),
        ("Credit card", "PayPal", "Apple Pay", "Afterpay"),
    ),
    Market(
        "GB",
        "United Kingdom",
        "GBP",
        "+44",
        "0.20",
        1,
        (
            Place("London", "England", "SW1A 1AA"),
            Place("Manchester", "England", "M1 1AE"),
            Place("Edinburgh", "Scotland", "EH1 1YZ"),
            Place("Cardiff", "Wales", "CF10 1EP"),
        ),
        ("Royal Mail", "Evri", "DPD"),
        ("Credit card", "PayPal", "Klarna"),
    ),
    Market(
        "MY",
        "Malaysia",
        "MYR",
        "+60",
        "0.06",
        4,
        (
            Place("Kuala Lumpur", "Wilayah Persekutuan", "50050"),
            Place("George Town", "Penang", "10200"),
            Place("Johor Bahru", "Johor", "80000"),
        ),
        ("J&T Express", "Ninja Van", "Pos Laju"),
        ("Credit card", "Touch 'n Go eWallet", "Cash on delivery"),
    ),
    Market(
        "JP",
        "Japan",
        "JPY",
        "+81",
        "0.10",
        150,
        (
            Place("Shinjuku", "Tokyo", "160-0022"),
            Place("Osaka", "Osaka", "530-0001"),
            Place("Sapporo", "Hokkaido", "060-0001"),
        ),
        ("Yamato Transport", "Sagawa Express", "Japan Post"),
        ("Credit card", "PayPay", "Konbini"),
    ),
    Market(
        "DE",
        "Germany",
        "EUR",
        "+49",
        "0.19",
        1,
        (
            Place("Berlin", "Berlin", "10115"),
            Place("Munich", "Bavaria", "80331"),
            Place("Hamburg", "Hamburg", "20095"),
        ),
        ("DHL", "Hermes", "DPD"),
        ("Credit card", "PayPal", "Klarna"),
    ),
    Market(
        "MX",
        "Mexico",
        "MXN",
        "+52",
        "0.16",
        18,
        (
            Place("Ciudad de México", "Ciudad de México", "06000"),
            Place("Guadalajara", "Jalisco", "44100"),
            Place("Monterrey", "Nuevo León", "64000"),
        ),
        ("Estafeta", "DHL", "J&T Express"),
        ("Credit card", "OXXO", "Cash on delivery"),
    ),
)


@dataclass(frozen=True)
class Product:
    product_id: str
    name: str
    base_price: str  # in USD-like units; scaled by the market's price factor
    variations: tuple[str, ...]
    seller_sku_prefix: str


PRODUCTS: tuple[Product, ...] = (
    Product(
        "1729384756102",
        "Seamless High-Waist Leggings",
        "24.99",
        ("Color: Black, Size: S", "Color: Black, Size: M", "Color: Navy, Size: L"),
        "LEG",
    ),
    Product(
        "1729384756103",
        "Oversized Cotton Hoodie",
        "39.90",
        ("Color: Grey, Size: M", "Color: Sage, Size: L", "Color: Black, Size: XL"),
        "HOOD",
    ),
    Product(
        "1729384756104", "Magnetic Phone Stand", "12.50", ("Color: Silver", "Color: Black"), "STND"
    ),
    Product(
        "1729384756105", "LED Strip Lights 10m", "19.99", ("Length: 10m", "Length: 20m"), "LED"
    ),
    Product(
        "1729384756106",
        "Hydrating Lip Oil",
        "9.99",
        ("Shade: Rose", "Shade: Clear", "Shade: Berry"),
        "LIP",
    ),
    Product("1729384756107", "Vitamin C Serum 30ml", "18.00", ("Size: 30ml",), "SER"),
    Product(
        "1729384756108",
        "Stainless Steel Tumbler 40oz",
        "29.95",
        ("Color: Sand", "Color: Rose Quartz", "Color: Black"),
        "TUMB",
    ),
    Product(
        "1729384756109", "Wireless Earbuds Pro", "49.00", ("Color: White", "Color: Black"), "EAR"
    ),
    Product(
        "1729384756110", "Mini Portable Blender", "34.99", ("Color: Pink", "Color: Mint"), "BLND"
    ),
    Product(
        "1729384756111",
        "Silk Pillowcase",
        "21.00",
        ("Size: Standard, Color: Ivory", "Size: Queen, Color: Ivory"),
        "SILK",
    ),
    Product(
        "1729384756112",
        "Cloud Slides",
        "17.99",
        ("Size: 38", "Size: 40", "Size: 42", "Size: 44"),
        "SLID",
    ),
    Product(
        "1729384756113", "Heatless Curling Rod", "11.49", ("Color: Pink", "Color: Black"), "CURL"
    ),
    Product("1729384756114", "Smart Water Bottle", "27.50", ("Color: Blue",), "BOTL"),
    Product(
        "1729384756115",
        "Gua Sha Facial Tool",
        "14.00",
        ("Stone: Rose Quartz", "Stone: Jade"),
        "GUA",
    ),
    Product(
        "1729384756116",
        "Crossbody Sling Bag",
        "32.00",
        ("Color: Black", "Color: Olive", "Color: Tan"),
        "SLNG",
    ),
    Product("1729384756117", "Kids Building Blocks 500pcs", "25.00", ("Set: Classic",), "BLCK"),
)

GIVEN_NAMES = (
    "Olivia",
    "Liam",
    "Emma",
    "Noah",
    "Ava",
    "Mateo",
    "Sofia",
    "Lucas",
    "Mia",
    "Hiroshi",
    "Aiko",
    "Aisyah",
    "Wei Ming",
    "Hannah",
    "Jonas",
    "Camila",
    "Diego",
    "Amelia",
    "Oliver",
    "Priya",
)
FAMILY_NAMES = (
    "Smith",
    "Johnson",
    "García",
    "Müller",
    "Tanaka",
    "Lim",
    "Brown",
    "Rodríguez",
    "Wilson",
    "Schmidt",
    "Sato",
    "Tan",
    "Taylor",
    "Hernández",
    "Abdullah",
    "Nguyen",
    "Evans",
    "Weber",
)
STREETS = (
    "Main St",
    "Oak Avenue",
    "High Street",
    "Maple Road",
    "Station Road",
    "Elm Street",
    "Jalan Ampang",
    "Hauptstraße",
    "Avenida Reforma",
    "Chuo-dori",
)
BUYER_MESSAGES = (
    "",
    "",
    "",
    "Please leave at the front door",
    "Gift, no invoice please",
    "Call before delivery",
)
SELLER_NOTES = ("", "", "", "VIP buyer", "Check stock before shipping", "Repeat customer")
CANCEL_REASONS = ("Buyer changed mind", "Out of stock", "Payment not completed", "Address issue")
