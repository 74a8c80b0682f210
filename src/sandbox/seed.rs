//! Deterministic sample data: the same seed gives the same account, products and sales.

use chrono::{DateTime, Duration, Utc};
use serde_json::{Map, Value, json};

use crate::generated::types::{
    AccountDetails, Address, Affiliate, AffiliateCommission, AffiliateProduct, Balance, Customer,
    LegalEntity, Participant, Payout, Product, ProductLink, Sale, SalePayment, SaleProduct,
    ShippingOption, Tracking,
};
use crate::model::{AffiliateStatus, Cents, FlexibleInteger, PaymentMethod, SaleStatus};

use super::state::{EventRecord, SaleRecord};
use super::{ACCOUNT_ID, SandboxConfig};

const DAY_MS: i64 = 86_400_000;

/// splitmix64: tiny, seedable, and good enough for sample data.
#[derive(Clone, Debug)]
pub(crate) struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Self(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A number in `0..n` (0 when `n` is 0).
    pub fn below(&mut self, n: u64) -> u64 {
        if n == 0 { 0 } else { self.next_u64() % n }
    }

    /// A number in `low..high`.
    pub fn between(&mut self, low: i64, high: i64) -> i64 {
        low + self.below(high.saturating_sub(low).max(0) as u64) as i64
    }

    pub fn chance(&mut self, probability: f64) -> bool {
        ((self.next_u64() >> 11) as f64 / (1u64 << 53) as f64) < probability
    }

    pub fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items
            .get(self.below(items.len() as u64) as usize)
            .copied()
            .unwrap_or("")
    }

    /// One of `choices`, with the given weights.
    pub fn weighted<T: Clone>(&mut self, choices: &[(T, u64)]) -> Option<T> {
        let total = choices.iter().map(|(_, weight)| weight).sum();
        let mut ticket = self.below(total);
        for (choice, weight) in choices {
            if ticket < *weight {
                return Some(choice.clone());
            }
            ticket -= weight;
        }
        None
    }

    pub fn uuid(&mut self) -> String {
        let (high, low) = (self.next_u64(), self.next_u64());
        let high = (high & 0xFFFF_FFFF_FFFF_0FFF) | 0x0000_0000_0000_4000;
        let low = (low & 0x3FFF_FFFF_FFFF_FFFF) | 0x8000_0000_0000_0000;
        format!(
            "{:08x}-{:04x}-{:04x}-{:04x}-{:012x}",
            high >> 32,
            (high >> 16) & 0xFFFF,
            high & 0xFFFF,
            low >> 48,
            low & 0xFFFF_FFFF_FFFF
        )
    }

    fn string_from(&mut self, alphabet: &[u8], len: usize) -> String {
        (0..len)
            .map(|_| char::from(alphabet[self.below(alphabet.len() as u64) as usize]))
            .collect()
    }

    /// Mixed-case alphanumerics, like sale references and checkout codes.
    pub fn code(&mut self, len: usize) -> String {
        self.string_from(
            b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789",
            len,
        )
    }

    /// Lower-case alphanumerics, like generated webhook tokens.
    pub fn lower_code(&mut self, len: usize) -> String {
        self.string_from(b"abcdefghijklmnopqrstuvwxyz0123456789", len)
    }

    pub fn digits(&mut self, len: usize) -> String {
        self.string_from(b"0123456789", len)
    }

    /// A CPF with valid check digits, unformatted.
    pub fn cpf(&mut self) -> String {
        let mut digits: Vec<u32> = (0..9).map(|_| self.below(10) as u32).collect();
        for _ in 0..2 {
            let len = digits.len() as u32;
            let sum: u32 = digits
                .iter()
                .enumerate()
                .map(|(i, d)| d * (len + 1 - i as u32))
                .sum();
            let check = (sum * 10) % 11 % 10;
            digits.push(check);
        }
        digits
            .iter()
            .map(|d| char::from_digit(*d, 10).unwrap_or('0'))
            .collect()
    }
}

/// The generated state, before the server adds run-time parts.
pub(crate) struct Seeded {
    pub account: AccountDetails,
    pub products: Vec<Product>,
    pub sales: Vec<SaleRecord>,
    pub affiliates: Vec<Affiliate>,
    pub balance: Balance,
    pub payouts: Vec<Payout>,
    pub events: Vec<EventRecord>,
    pub rng: Rng,
}

const FIRST_NAMES: &[&str] = &[
    "Ana",
    "Bruno",
    "Camila",
    "Diego",
    "Eduarda",
    "Felipe",
    "Gabriela",
    "Henrique",
    "Isabela",
    "João",
    "Larissa",
    "Lucas",
    "Mariana",
    "Nicolas",
    "Patrícia",
    "Rafael",
    "Sofia",
    "Thiago",
    "Vitória",
    "Yuri",
];
const LAST_NAMES: &[&str] = &[
    "Silva",
    "Santos",
    "Oliveira",
    "Souza",
    "Rodrigues",
    "Ferreira",
    "Alves",
    "Pereira",
    "Lima",
    "Gomes",
    "Costa",
    "Ribeiro",
    "Martins",
    "Carvalho",
    "Araújo",
];
const STREETS: &[&str] = &[
    "Rua das Flores",
    "Avenida Paulista",
    "Rua XV de Novembro",
    "Avenida Brasil",
    "Rua da Consolação",
    "Rua Sete de Setembro",
    "Avenida Atlântica",
];
const NEIGHBORHOODS: &[&str] = &["Centro", "Jardins", "Boa Vista", "Vila Nova", "Copacabana"];
const CITIES: &[(&str, &str, &str)] = &[
    ("São Paulo", "SP", "11"),
    ("Rio de Janeiro", "RJ", "21"),
    ("Belo Horizonte", "MG", "31"),
    ("Curitiba", "PR", "41"),
    ("Porto Alegre", "RS", "51"),
    ("Salvador", "BA", "71"),
    ("Recife", "PE", "81"),
];
const UTM_SOURCES: &[&str] = &["facebook", "instagram", "google", "youtube", "email", ""];
const UTM_MEDIUMS: &[&str] = &["cpc", "social", "organic", "newsletter", ""];
const UTM_CAMPAIGNS: &[&str] = &["black_friday", "lancamento", "perpetuo", "remarketing", ""];
const CARD_BRANDS: &[&str] = &["mastercard", "visa", "elo", "amex", "hipercard"];

/// What one product of the seed looks like.
struct ProductSpec {
    name: &'static str,
    kind: &'static str,
    payment_type: &'static str,
    price: i64,
    weight: u64,
}

const PRODUCTS: [ProductSpec; 5] = [
    ProductSpec {
        name: "Curso Marketing Digital Completo",
        kind: "membership",
        payment_type: "charge",
        price: 19_700,
        weight: 35,
    },
    ProductSpec {
        name: "E-book Receitas Fit",
        kind: "file",
        payment_type: "charge",
        price: 4_790,
        weight: 30,
    },
    ProductSpec {
        name: "Mentoria Mensal Premium",
        kind: "membership",
        payment_type: "recurring",
        price: 9_900,
        weight: 20,
    },
    ProductSpec {
        name: "Planner Físico 2027",
        kind: "physical",
        payment_type: "charge",
        price: 8_990,
        weight: 10,
    },
    ProductSpec {
        name: "Workshop Presencial São Paulo",
        kind: "event",
        payment_type: "charge",
        price: 25_000,
        weight: 5,
    },
];

/// Index of the subscription product and of the event product in [`PRODUCTS`].
const SUBSCRIPTION: usize = 2;
const PHYSICAL: usize = 3;
const EVENT: usize = 4;

pub(crate) fn seed(config: &SandboxConfig) -> Seeded {
    let mut rng = Rng::new(config.seed);
    let anchor = config.anchor;
    let latest = anchor - Duration::milliseconds(1);

    let products = seed_products(&mut rng, anchor);
    let affiliates = seed_affiliates(&mut rng, &products, anchor);

    let mut times: Vec<i64> = (0..config.sales)
        .map(|_| anchor.timestamp_millis() - rng.between(1, 365 * DAY_MS))
        .collect();
    times.sort_unstable();

    let weights: Vec<(usize, u64)> = PRODUCTS
        .iter()
        .enumerate()
        .map(|(i, p)| (i, p.weight))
        .collect();
    let mut sales: Vec<SaleRecord> = Vec::with_capacity(config.sales);
    let mut subscription_roots: Vec<usize> = Vec::new();

    for millis in times {
        let created_at = DateTime::from_timestamp_millis(millis).unwrap_or_default();
        let index = rng.weighted(&weights).unwrap_or(0);
        let method = rng
            .weighted(&[
                (PaymentMethod::CreditCard, 55),
                (PaymentMethod::Pix, 30),
                (PaymentMethod::Boleto, 15),
            ])
            .unwrap_or(PaymentMethod::Pix);
        let status = seeded_status(&mut rng, &method);

        let candidates: Vec<&Affiliate> = affiliates
            .iter()
            .filter(|a| {
                a.product.as_ref().and_then(|p| p.id.as_deref()) == Some(&products[index].id)
            })
            .filter(|a| a.status == Some(AffiliateStatus::Active))
            .collect();
        let affiliate = if !candidates.is_empty() && rng.chance(0.2) {
            candidates
                .get(rng.below(candidates.len() as u64) as usize)
                .copied()
        } else {
            None
        };

        let parent = if index == SUBSCRIPTION && !subscription_roots.is_empty() && rng.chance(0.6) {
            let root = subscription_roots[rng.below(subscription_roots.len() as u64) as usize];
            sales.get(root)
        } else {
            None
        };

        let record = make_sale(
            &mut rng,
            SaleSpec {
                product: &products[index],
                created_at,
                latest,
                status,
                method,
                affiliate,
                parent,
            },
        );
        if index == SUBSCRIPTION && parent.is_none() {
            subscription_roots.push(sales.len());
        }
        sales.push(record);
    }

    let (account, legal_entity_id) = seed_account(&mut rng, anchor);
    let pending: i64 = sales
        .iter()
        .filter(|s| matches!(s.sale.status, Some(SaleStatus::Paid | SaleStatus::Approved)))
        .filter(|s| s.created_at() >= anchor - Duration::days(30))
        .map(SaleRecord::net)
        .sum();
    let balance = Balance {
        available: Some(Cents(1_250_000)),
        pending: Some(Cents(pending)),
        legal_entity_id: Some(legal_entity_id.clone()),
    };

    let payouts = [
        (90, 500_000, "completed"),
        (60, 350_000, "completed"),
        (30, 420_000, "completed"),
    ]
    .into_iter()
    .map(|(days_before, amount, status)| {
        let created = anchor - Duration::days(days_before);
        Payout {
            id: rng.uuid(),
            amount: Some(Cents(amount)),
            status: Some(status.to_owned()),
            legal_entity_id: Some(legal_entity_id.clone()),
            created_at: Some(created),
            updated_at: Some(created + Duration::days(2)),
        }
    })
    .collect();

    let events = vec![seed_participants(
        &mut rng,
        &products[EVENT],
        &sales,
        anchor,
    )];

    Seeded {
        account,
        products,
        sales,
        affiliates,
        balance,
        payouts,
        events,
        rng,
    }
}

fn seeded_status(rng: &mut Rng, method: &PaymentMethod) -> SaleStatus {
    use SaleStatus::*;
    let choices: &[(SaleStatus, u64)] = match method {
        PaymentMethod::CreditCard => &[
            (Approved, 40),
            (Paid, 25),
            (Refused, 15),
            (Refunded, 8),
            (PendingRefund, 6),
            (Chargedback, 6),
        ],
        PaymentMethod::Pix => &[
            (Paid, 70),
            (WaitingPayment, 18),
            (Refunded, 7),
            (PendingRefund, 5),
        ],
        _ => &[(Paid, 50), (WaitingPayment, 45), (Refunded, 5)],
    };
    rng.weighted(choices).unwrap_or(Paid)
}

fn seed_products(rng: &mut Rng, anchor: DateTime<Utc>) -> Vec<Product> {
    PRODUCTS
        .iter()
        .enumerate()
        .map(|(index, spec)| {
            let id = rng.uuid();
            let created = anchor - Duration::days(400 + 20 * index as i64);
            let link = ProductLink {
                id: Some(rng.code(7)),
                custom_name: Some("Checkout principal".to_owned()),
                is_sales_page: Some(false),
                product_id: Some(id.clone()),
                status: Some("active".to_owned()),
            };
            let shipping_options = if index == PHYSICAL {
                vec![ShippingOption {
                    id: Some(rng.uuid()),
                    name: Some("Correios PAC".to_owned()),
                    price: Some(Cents(2_490)),
                }]
            } else {
                Vec::new()
            };
            let subscriptions = if index == SUBSCRIPTION {
                vec![
                    object(
                        json!({"id": rng.uuid(), "name": "Plano Mensal", "price": spec.price,
                        "frequency": "monthly"}),
                    ),
                    object(
                        json!({"id": rng.uuid(), "name": "Plano Anual", "price": spec.price * 10,
                        "frequency": "yearly"}),
                    ),
                ]
            } else {
                Vec::new()
            };
            let event_batches = if index == EVENT {
                vec![
                    object(
                        json!({"id": rng.uuid(), "name": "Lote 1", "price": spec.price,
                        "quantity": 50}),
                    ),
                    object(
                        json!({"id": rng.uuid(), "name": "Lote 2", "price": spec.price + 5_000,
                        "quantity": 50}),
                    ),
                ]
            } else {
                Vec::new()
            };
            Product {
                id,
                name: Some(spec.name.to_owned()),
                type_: Some(spec.kind.to_owned()),
                payment_type: Some(spec.payment_type.to_owned()),
                price: Some(Cents(spec.price)),
                currency: Some("BRL".to_owned()),
                status: Some("active".to_owned()),
                created_at: Some(created),
                store_id: Some(ACCOUNT_ID.to_owned()),
                affiliate_enabled: Some(index < 2),
                shipping_options,
                links: vec![link],
                bumps: Vec::new(),
                offers: Vec::new(),
                event_settings: None,
                event_batches,
                subscriptions,
                revenue_partners: Vec::new(),
            }
        })
        .collect()
}

fn object(value: Value) -> Map<String, Value> {
    match value {
        Value::Object(map) => map,
        _ => Map::new(),
    }
}

fn seed_affiliates(rng: &mut Rng, products: &[Product], anchor: DateTime<Utc>) -> Vec<Affiliate> {
    let specs = [
        ("Carla Mendes", 0, 5_000, AffiliateStatus::Active),
        ("Rodrigo Nunes", 1, 1_500, AffiliateStatus::Active),
        ("Juliana Prado", 0, 4_000, AffiliateStatus::Blocked),
    ];
    specs
        .into_iter()
        .enumerate()
        .map(|(i, (name, product, commission, status))| {
            let product = &products[product];
            let email = format!("{}@example.com", name.to_lowercase().replace(' ', "."));
            Affiliate {
                affiliate_id: rng.uuid(),
                name: Some(name.to_owned()),
                email: Some(email),
                company_name: Some(format!("{name} Marketing ME")),
                director_cpf: Some(rng.cpf()),
                company_cnpj: Some(rng.digits(14)),
                product: Some(AffiliateProduct {
                    id: Some(product.id.clone()),
                    name: product.name.clone(),
                }),
                commission: Some(Cents(commission)),
                status: Some(status),
                created_at: Some(anchor - Duration::days(380 - 30 * i as i64)),
            }
        })
        .collect()
}

fn seed_account(rng: &mut Rng, anchor: DateTime<Utc>) -> (AccountDetails, String) {
    let legal_entity_id = rng.uuid();
    let cpf = rng.cpf();
    let cnpj = rng.digits(14);
    let created = anchor - Duration::days(500);
    let entity = LegalEntity {
        id: legal_entity_id.clone(),
        active: Some(true),
        company_name: Some("Sandbox Educação Digital LTDA".to_owned()),
        director_cpf: Some(cpf.clone()),
        company_cnpj: Some(cnpj.clone()),
        pix_key: Some(cnpj.clone()),
        created_at: Some(crate::paginate::timestamp(created)),
        updated_at: Some(crate::paginate::timestamp(created + Duration::days(3))),
    };
    let account = AccountDetails {
        id: ACCOUNT_ID.to_owned(),
        company_name: Some("Sandbox Educação Digital LTDA".to_owned()),
        director_cpf: Some(cpf),
        company_cnpj: Some(cnpj),
        legal_entities: vec![entity],
    };
    (account, legal_entity_id)
}

fn seed_participants(
    rng: &mut Rng,
    product: &Product,
    sales: &[SaleRecord],
    anchor: DateTime<Utc>,
) -> EventRecord {
    let batches: Vec<(String, String)> = product
        .event_batches
        .iter()
        .map(|batch| {
            let text = |key: &str| {
                batch
                    .get(key)
                    .and_then(Value::as_str)
                    .unwrap_or("")
                    .to_owned()
            };
            (text("id"), text("name"))
        })
        .collect();
    let orders: Vec<&SaleRecord> = sales
        .iter()
        .filter(|s| s.product_id() == product.id)
        .filter(|s| matches!(s.sale.status, Some(SaleStatus::Paid | SaleStatus::Approved)))
        .collect();

    let participants = (0..40)
        .map(|i| {
            let order = orders.get(i % orders.len().max(1));
            let created = order
                .map(|o| o.created_at())
                .unwrap_or(anchor - Duration::days(60 - i as i64));
            let (name, email, cpf, phone) = match order.and_then(|o| o.sale.customer.as_ref()) {
                Some(c) if i < orders.len() => (
                    c.name.clone(),
                    c.email.clone(),
                    c.cpf.clone(),
                    c.mobile.clone(),
                ),
                _ => {
                    let person = person(rng);
                    (
                        Some(person.name),
                        Some(person.email),
                        Some(person.cpf),
                        Some(person.mobile),
                    )
                }
            };
            let (batch_id, batch_name) = batches.get(i % 2).cloned().unwrap_or_default();
            let checked_in = rng.chance(0.3);
            let checkin_at = checked_in.then(|| created + Duration::days(rng.between(1, 30)));
            Participant {
                id: rng.uuid(),
                external_id: Some(format!("EXT-{}", rng.digits(6))),
                batch_id: Some(batch_id),
                batch_name: Some(batch_name),
                name,
                email,
                cpf,
                phone,
                order_id: Some(
                    order
                        .map(|o| o.sale.id.clone())
                        .unwrap_or_else(|| rng.uuid()),
                ),
                checkin_at,
                created_at: Some(created),
                updated_at: Some(checkin_at.unwrap_or(created)),
            }
        })
        .collect();
    EventRecord {
        product_id: product.id.clone(),
        max_tickets: 100,
        participants,
    }
}

struct Person {
    name: String,
    email: String,
    cpf: String,
    mobile: String,
    instagram: String,
    address: Address,
}

fn person(rng: &mut Rng) -> Person {
    let first = rng.pick(FIRST_NAMES);
    let last = rng.pick(LAST_NAMES);
    let (city, state, area) = CITIES[rng.below(CITIES.len() as u64) as usize];
    let handle = format!(
        "{}.{}{}",
        ascii_lower(first),
        ascii_lower(last),
        rng.below(1000)
    );
    let domain = rng.pick(&["example.com", "example.org", "example.net"]);
    Person {
        name: format!("{first} {last}"),
        email: format!("{handle}@{domain}"),
        cpf: rng.cpf(),
        mobile: format!("+55{area}9{}", rng.digits(8)),
        instagram: if rng.chance(0.3) {
            format!("@{handle}")
        } else {
            String::new()
        },
        address: Address {
            street: Some(rng.pick(STREETS).to_owned()),
            number: Some(rng.between(1, 3000).to_string()),
            complement: Some(if rng.chance(0.4) {
                format!("Apto {}", rng.between(11, 200))
            } else {
                String::new()
            }),
            neighborhood: Some(rng.pick(NEIGHBORHOODS).to_owned()),
            city: Some(city.to_owned()),
            state: Some(state.to_owned()),
            zipcode: Some(rng.digits(8)),
        },
    }
}

/// Lower-case ASCII without accents, for e-mail handles.
fn ascii_lower(text: &str) -> String {
    text.chars()
        .map(|c| match c {
            'á' | 'â' | 'ã' | 'à' => 'a',
            'é' | 'ê' => 'e',
            'í' => 'i',
            'ó' | 'ô' | 'õ' => 'o',
            'ú' => 'u',
            'ç' => 'c',
            other => other.to_ascii_lowercase(),
        })
        .collect()
}

/// What [`make_sale`] needs to make one sale.
pub(crate) struct SaleSpec<'a> {
    pub product: &'a Product,
    pub created_at: DateTime<Utc>,
    /// No derived time (approval, refund) goes past this.
    pub latest: DateTime<Utc>,
    pub status: SaleStatus,
    pub method: PaymentMethod,
    pub affiliate: Option<&'a Affiliate>,
    /// The first sale of the subscription this one renews.
    pub parent: Option<&'a SaleRecord>,
}

/// Makes one full sale, consistent in its amounts, dates and status.
pub(crate) fn make_sale(rng: &mut Rng, spec: SaleSpec<'_>) -> SaleRecord {
    let SaleSpec {
        product,
        created_at,
        latest,
        status,
        method,
        affiliate,
        parent,
    } = spec;
    let id = rng.uuid();
    let reference = rng.code(7);
    let is_card = method == PaymentMethod::CreditCard;

    let plans: Vec<(String, String, i64)> = product
        .subscriptions
        .iter()
        .map(|plan| {
            let id = plan
                .get("id")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_owned();
            let name = plan
                .get("name")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_owned();
            let price = plan.get("price").and_then(Value::as_i64).unwrap_or(0);
            (id, name, price)
        })
        .collect();
    let plan = match parent
        .and_then(|p| p.sale.product.as_ref())
        .and_then(|p| p.plan_id.clone())
    {
        Some(plan_id) => plans.iter().find(|plan| plan.0 == plan_id).cloned(),
        None if !plans.is_empty() => {
            let index = if rng.chance(0.8) { 0 } else { plans.len() - 1 };
            plans.get(index).cloned()
        }
        None => None,
    };

    let base_price = plan
        .as_ref()
        .map_or(product.price.map_or(0, |c| c.0), |plan| plan.2);
    let shipping = product.shipping_options.first().cloned();
    let shipping_price = shipping.as_ref().and_then(|s| s.price).map_or(0, |c| c.0);
    let charge = base_price + shipping_price;
    let fee = (charge * 899 + 5_000) / 10_000 + 249;
    let commission = affiliate
        .and_then(|a| a.commission)
        .map_or(0, |c| c.0)
        .min(charge - fee);
    let net = charge - fee - commission;

    let clamp = |time: DateTime<Utc>| time.min(latest).max(created_at);
    let approval_delay = match method {
        PaymentMethod::CreditCard => Duration::seconds(rng.between(5, 90)),
        PaymentMethod::Pix => Duration::seconds(rng.between(30, 1_800)),
        _ => Duration::hours(rng.between(2, 72)),
    };
    let approved_at = clamp(created_at + approval_delay);
    let ever_approved = matches!(
        status,
        SaleStatus::Paid
            | SaleStatus::Approved
            | SaleStatus::Refunded
            | SaleStatus::PendingRefund
            | SaleStatus::Chargedback
    );
    let after_approval = clamp(approved_at + Duration::hours(rng.between(1, 24 * 20)));
    let refunded_at = (status == SaleStatus::Refunded).then_some(after_approval);
    let updated_at = match status {
        SaleStatus::Refunded | SaleStatus::PendingRefund | SaleStatus::Chargedback => {
            after_approval
        }
        _ if ever_approved => approved_at,
        SaleStatus::Refused => clamp(created_at + Duration::seconds(rng.between(2, 20))),
        _ => created_at,
    };

    let (customer, ip) = match parent {
        Some(parent) => (parent.sale.customer.clone(), parent.ip.clone()),
        None => {
            let person = person(rng);
            let customer = Customer {
                id: Some(rng.uuid()),
                name: Some(person.name),
                email: Some(person.email),
                cpf: Some(person.cpf),
                cnpj: None,
                mobile: Some(person.mobile),
                instagram: Some(person.instagram),
                country: Some("BR".to_owned()),
                address: Some(person.address),
            };
            let ip = format!(
                "{}.{}",
                rng.pick(&["192.0.2", "198.51.100", "203.0.113"]),
                rng.between(1, 255)
            );
            (Some(customer), ip)
        }
    };

    let tracking = Tracking {
        src: Some(String::new()),
        sck: Some(if rng.chance(0.2) {
            rng.code(10)
        } else {
            String::new()
        }),
        utm_source: Some(rng.pick(UTM_SOURCES).to_owned()),
        utm_medium: Some(rng.pick(UTM_MEDIUMS).to_owned()),
        utm_campaign: Some(rng.pick(UTM_CAMPAIGNS).to_owned()),
        utm_content: Some(String::new()),
        utm_term: Some(String::new()),
        s1: Some(String::new()),
        s2: Some(String::new()),
        s3: Some(String::new()),
    };

    let brl = || Some("BRL".to_owned());
    let payment = SalePayment {
        charge_amount: Some(Cents(charge)),
        charge_currency: brl(),
        net_amount: Some(Cents(net)),
        product_base_price: Some(Cents(base_price)),
        product_base_currency: brl(),
        settlement_amount: Some(Cents(net)),
        settlement_currency: brl(),
        fee: Some(Cents(fee)),
        fee_currency: brl(),
        sale_tax_rate: Some(0.0),
        sale_tax_amount: Some(Cents(0)),
    };

    let root_id = parent.map(|p| {
        p.sale
            .parent_order_id
            .clone()
            .unwrap_or_else(|| p.sale.id.clone())
    });
    let subscription_id = match parent {
        Some(parent) => parent.subscription_id.clone(),
        None if plan.is_some() => Some(rng.uuid()),
        None => None,
    };
    let checkout_link = product
        .links
        .first()
        .and_then(|link| link.id.clone())
        .unwrap_or_else(|| rng.code(7));

    let sale = Sale {
        id,
        reference: Some(reference.clone()),
        type_: Some("product".to_owned()),
        created_at: Some(created_at),
        updated_at: Some(updated_at),
        product: Some(SaleProduct {
            id: Some(product.id.clone()),
            name: product.name.clone(),
            plan_id: plan.as_ref().map(|plan| plan.0.clone()),
            plan_name: plan.as_ref().map(|plan| plan.1.clone()),
        }),
        shipping,
        status: Some(status.clone()),
        payment_method: Some(method.clone()),
        net_amount: Some(Cents(net)),
        currency: brl(),
        customer,
        approved_date: ever_approved.then_some(approved_at),
        refunded_at,
        boleto_url: (method == PaymentMethod::Boleto)
            .then(|| format!("https://boleto.sandbox.invalid/{reference}")),
        card_last_digits: Some(if is_card {
            rng.digits(4)
        } else {
            String::new()
        }),
        card_type: Some(if is_card {
            rng.pick(CARD_BRANDS).to_owned()
        } else {
            String::new()
        }),
        card_rejection_reason: (status == SaleStatus::Refused).then(|| {
            rng.pick(&["insufficient_funds", "card_declined", "invalid_cvv"])
                .to_owned()
        }),
        installments: is_card.then(|| {
            FlexibleInteger(
                rng.weighted(&[(1, 50), (3, 15), (6, 15), (12, 20)])
                    .unwrap_or(1),
            )
        }),
        is_one_click: Some(false),
        two_cards: Some(false),
        parent_order_id: root_id,
        sale_type: Some("producer".to_owned()),
        payment: Some(payment),
        tracking: Some(tracking),
        revenue_partners: Vec::new(),
        affiliate_commission: affiliate.map(|a| AffiliateCommission {
            name: a.name.clone(),
            document: a.director_cpf.clone(),
            email: a.email.clone(),
            amount: Some(Cents(commission)),
        }),
    };

    SaleRecord {
        sale,
        affiliate_id: affiliate.map(|a| a.affiliate_id.clone()),
        ip,
        merchant_id: rng.digits(20),
        subscription_id,
        checkout_link,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seeded(seed: u64) -> Seeded {
        seed_with(SandboxConfig {
            seed,
            ..SandboxConfig::default()
        })
    }

    fn seed_with(config: SandboxConfig) -> Seeded {
        super::seed(&config)
    }

    #[test]
    fn the_same_seed_gives_the_same_sales() {
        let ids = |seeded: Seeded| seeded.sales.into_iter().map(|s| s.sale).collect::<Vec<_>>();
        assert_eq!(ids(seeded(1)), ids(seeded(1)));
        assert_ne!(ids(seeded(1)), ids(seeded(2)));
    }

    #[test]
    fn sales_span_the_year_before_the_anchor() {
        let config = SandboxConfig::default();
        let seeded = seed_with(config.clone());
        assert_eq!(seeded.sales.len(), 1500);
        let first = config.anchor - Duration::days(365);
        for record in &seeded.sales {
            let sale = &record.sale;
            assert!(record.created_at() >= first && record.created_at() < config.anchor);
            assert!(record.updated_at() >= record.created_at());
            assert!(record.updated_at() < config.anchor);
            if let (Some(approved), Some(refunded)) = (sale.approved_date, sale.refunded_at) {
                assert!(approved <= refunded);
            }
        }
        let statuses: std::collections::HashSet<&str> =
            seeded.sales.iter().map(SaleRecord::status).collect();
        for status in [
            "paid",
            "approved",
            "refunded",
            "waiting_payment",
            "refused",
            "chargedback",
            "pending_refund",
        ] {
            assert!(statuses.contains(status), "no {status} sale");
        }
    }

    #[test]
    fn sales_are_consistent_in_method_status_and_money() {
        for record in seeded(9).sales {
            let sale = &record.sale;
            let method = record.method();
            match record.status() {
                "approved" | "refused" | "chargedback" => assert_eq!(method, "credit_card"),
                "waiting_payment" => assert_ne!(method, "credit_card"),
                _ => {}
            }
            assert_eq!(sale.installments.is_some(), method == "credit_card");
            assert_eq!(sale.boleto_url.is_some(), method == "boleto");
            let payment = sale.payment.clone().unwrap_or_default();
            let commission = sale.affiliate_commission.as_ref().and_then(|c| c.amount);
            let cents = |amount: Option<Cents>| amount.map_or(0, |c| c.0);
            assert_eq!(
                cents(payment.charge_amount) - cents(payment.fee) - cents(commission),
                record.net()
            );
            assert!(record.net() > 0);
            assert_eq!(record.merchant_id.len(), 20);
            assert_eq!(sale.reference.as_deref().map(str::len), Some(7));
        }
    }

    #[test]
    fn subscription_sales_carry_a_plan_and_renewals_a_parent() {
        let seeded = seeded(3);
        let subscription = &seeded.products[SUBSCRIPTION].id;
        let sales: Vec<&SaleRecord> = seeded
            .sales
            .iter()
            .filter(|s| s.product_id() == subscription)
            .collect();
        assert!(
            sales
                .iter()
                .all(|s| s.sale.product.as_ref().is_some_and(|p| p.plan_id.is_some()))
        );
        assert!(sales.iter().all(|s| s.subscription_id.is_some()));
        let renewal = sales
            .iter()
            .find(|s| s.sale.parent_order_id.is_some())
            .expect("a renewal");
        let parent = renewal.sale.parent_order_id.as_deref().unwrap_or_default();
        let first = seeded
            .sales
            .iter()
            .find(|s| s.sale.id == parent)
            .expect("the first sale");
        assert_eq!(first.subscription_id, renewal.subscription_id);
        assert_eq!(first.sale.customer, renewal.sale.customer);
    }

    #[test]
    fn cpfs_have_valid_check_digits() {
        let mut rng = Rng::new(5);
        for _ in 0..100 {
            let cpf: Vec<u32> = rng.cpf().chars().filter_map(|c| c.to_digit(10)).collect();
            assert_eq!(cpf.len(), 11);
            for check in [9, 10] {
                let sum: u32 = (0..check)
                    .map(|i| cpf[i] * (check as u32 + 1 - i as u32))
                    .sum();
                assert_eq!((sum * 10) % 11 % 10, cpf[check]);
            }
        }
    }

    #[test]
    fn uuids_are_version_4() {
        let mut rng = Rng::new(11);
        let id = rng.uuid();
        assert_eq!(id.len(), 36);
        assert_eq!(&id[14..15], "4");
        assert!(matches!(&id[19..20], "8" | "9" | "a" | "b"));
        assert_ne!(id, rng.uuid());
    }

    #[test]
    fn the_event_has_forty_participants() {
        let seeded = seeded(42);
        assert_eq!(seeded.events[0].product_id, seeded.products[EVENT].id);
        assert_eq!(seeded.events[0].participants.len(), 40);
    }
}
