//! The command line: every command, option and its help text.

use std::net::{IpAddr, Ipv4Addr};
use std::path::PathBuf;

use chrono::{DateTime, Utc};
use clap::builder::{NonEmptyStringValueParser, PossibleValuesParser};
use clap::error::ErrorKind;
use clap::{ArgGroup, Args, CommandFactory, Parser, Subcommand, ValueEnum};
use kiwify::paginate::{Bound, parse_bound};
use kiwify::webhook::Trigger;

/// Command-line client for the Kiwify public API.
///
/// Credentials come from KIWIFY_CLIENT_ID, KIWIFY_CLIENT_SECRET and KIWIFY_ACCOUNT_ID. Results
/// are JSON on stdout: one document, or one item per line for lists. Exit status: 0 on success,
/// 1 when the API, the network or a verification fails, 2 on a usage error.
#[derive(Debug, Parser)]
#[command(name = "kiwify", version, max_term_width = 100)]
pub struct Cli {
    #[command(flatten)]
    pub global: Global,
    #[command(subcommand)]
    pub command: Command,
}

impl Cli {
    /// Parses the arguments, exiting with status 2 and clap's message on a usage error:
    /// anything clap refuses, and a period whose start is not before its end (checked here,
    /// before any request, because clap checks each value alone).
    pub fn parse_checked() -> Self {
        let cli = Cli::parse();
        if let Err((path, message)) = cli.check_periods() {
            // The subcommand's own usage line, under its full name (`kiwify sales export`).
            let mut command = Cli::command();
            command.build();
            for name in path {
                if let Some(subcommand) = command.find_subcommand(name) {
                    command = subcommand.clone();
                }
            }
            command.error(ErrorKind::ValueValidation, message).exit();
        }
        cli
    }

    /// Every pair of period ends the command was given, in order; on a reversed one, the
    /// subcommand's path and the message.
    fn check_periods(&self) -> Result<(), (&'static [&'static str], String)> {
        let Command::Api(command) = &self.command else {
            return Ok(());
        };
        match command.as_ref() {
            ApiCommand::Sales(SalesCommand::List(args)) => ordered(
                ("--start-date", &args.start_date),
                ("--end-date", &args.end_date),
            )
            .and_then(|()| args.filters.check_updated())
            .map_err(|message| (&["sales", "list"][..], message)),
            ApiCommand::Sales(SalesCommand::Export(args)) => {
                ordered(("--from", &args.from), ("--to", &args.to))
                    .and_then(|()| args.filters.check_updated())
                    .map_err(|message| (&["sales", "export"][..], message))
            }
            ApiCommand::Stats(args) => ordered(
                ("--start-date", &args.start_date),
                ("--end-date", &args.end_date),
            )
            .map_err(|message| (&["stats"][..], message)),
            ApiCommand::Events(EventsCommand::Participants(args)) => {
                let pairs = [
                    (
                        "--created-from",
                        &args.created_from,
                        "--created-to",
                        &args.created_to,
                    ),
                    (
                        "--updated-from",
                        &args.updated_from,
                        "--updated-to",
                        &args.updated_to,
                    ),
                ];
                pairs
                    .into_iter()
                    .try_for_each(|pair| match pair {
                        (start_flag, Some(start), end_flag, Some(end)) => {
                            ordered((start_flag, start), (end_flag, end))
                        }
                        _ => Ok(()),
                    })
                    .map_err(|message| (&["events", "participants"][..], message))
            }
            _ => Ok(()),
        }
    }
}

/// One end of a period as given on the command line, and the instant it stands for: a
/// `YYYY-MM-DD` Brasília day (its first instant as a start, the first instant after it as an
/// end) or an RFC 3339 instant, read by [`parse_bound`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DateArg {
    pub text: String,
    pub at: DateTime<Utc>,
}

fn period_start(text: &str) -> Result<DateArg, String> {
    date_arg(text, Bound::Start)
}

fn period_end(text: &str) -> Result<DateArg, String> {
    date_arg(text, Bound::End)
}

fn date_arg(text: &str, bound: Bound) -> Result<DateArg, String> {
    let at = parse_bound(text, bound).map_err(|error| error.to_string())?;
    Ok(DateArg {
        text: text.to_owned(),
        at,
    })
}

/// Refuses a period that does not start before it ends, naming both values.
fn ordered(start: (&str, &DateArg), end: (&str, &DateArg)) -> Result<(), String> {
    let ((start_flag, start), (end_flag, end)) = (start, end);
    if start.at < end.at {
        return Ok(());
    }
    Err(format!(
        "the period is empty: {start_flag} {} does not come before {end_flag} {}",
        start.text, end.text
    ))
}

/// Options every command takes.
#[derive(Debug, Args)]
pub struct Global {
    /// API base URL [default: https://public-api.kiwify.com/v1]
    #[arg(
        long,
        global = true,
        help_heading = "Global options",
        env = "KIWIFY_BASE_URL",
        value_name = "URL"
    )]
    pub base_url: Option<String>,

    /// Client-side rate limit in requests per minute; 0 turns the limiter off [default: 100]
    #[arg(
        long,
        global = true,
        help_heading = "Global options",
        value_name = "PER_MINUTE"
    )]
    pub rate_limit: Option<u32>,

    /// Retries of a failed safe request (429, 5xx, timeouts) [default: 3]
    #[arg(long, global = true, help_heading = "Global options", value_name = "N")]
    pub max_retries: Option<u32>,

    /// Limit on each operation, retries included, in seconds [default: 120]
    #[arg(long, global = true, help_heading = "Global options", value_name = "SECONDS", value_parser = clap::value_parser!(u64).range(1..))]
    pub timeout: Option<u64>,

    /// Log requests (operation, status, attempts, timing) to stderr; RUST_LOG refines it
    #[arg(long, short, global = true, help_heading = "Global options")]
    pub verbose: bool,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    #[command(flatten)]
    Api(Box<ApiCommand>),
    /// Check a webhook delivery received from Kiwify
    #[command(subcommand)]
    Webhook(WebhookCommand),
    /// Run a local fake Kiwify API until interrupted, for testing programs in any language
    Sandbox(SandboxArgs),
}

/// The commands that call the API, and so need credentials.
#[derive(Debug, Subcommand)]
pub enum ApiCommand {
    /// Fetch a fresh access token and show its expiry and scopes (never the token)
    Token,
    /// Account details and legal entities
    Account,
    /// Sales: list, get, refund, export
    #[command(subcommand)]
    Sales(SalesCommand),
    /// Sales statistics over a period
    Stats(StatsArgs),
    /// Balance of the account, or of one legal entity
    Balance {
        /// A legal entity id (see `kiwify account`)
        legal_entity_id: Option<String>,
    },
    /// Products
    #[command(subcommand)]
    Products(ProductsCommand),
    /// Payouts (withdrawals)
    #[command(subcommand)]
    Payouts(PayoutsCommand),
    /// Affiliates of the account's products
    #[command(subcommand)]
    Affiliates(AffiliatesCommand),
    /// Webhook registrations
    #[command(subcommand)]
    Webhooks(WebhooksCommand),
    /// Events (tickets)
    #[command(subcommand)]
    Events(EventsCommand),
}

/// Which page to read. Without either option, list commands read every page and print one
/// item per line.
#[derive(Debug, Args, Clone, Copy)]
pub struct Paging {
    /// Print only this page (1-based), as the API returns it: `pagination` and `data`
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    pub page_number: Option<u64>,

    /// Items per page; alone, prints the first page of that size
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    pub page_size: Option<u64>,
}

impl Paging {
    /// Whether one page was asked for rather than every item.
    pub fn single_page(&self) -> bool {
        self.page_number.is_some() || self.page_size.is_some()
    }
}

#[derive(Debug, Subcommand)]
pub enum SalesCommand {
    /// Sales created in a period (at most 90 days per page request)
    ///
    /// DATE is YYYY-MM-DD, a Brasília calendar day (the end day included), or an RFC 3339
    /// instant such as 2026-03-10T00:00:00Z (the end excluded).
    List(SalesListArgs),
    /// One sale, with every detail
    Get {
        /// The sale id
        id: String,
    },
    /// Refund a sale (moves money; never retried)
    Refund {
        /// The sale id
        id: String,
        /// Pix key to refund to: required for Pix sales, not sent otherwise
        #[arg(long, value_name = "KEY")]
        pix_key: Option<String>,
    },
    /// Every sale of a period of any length, as JSON Lines or CSV
    ///
    /// DATE is YYYY-MM-DD, a Brasília calendar day (--to included), or an RFC 3339 instant
    /// (--to excluded). The period is read in windows of at most 89 days, each sale once. A
    /// progress line is drawn on stderr when it is a terminal (sales written to the same
    /// terminal never break into it); nothing is written on stderr when it is not.
    Export(ExportArgs),
}

/// Filters `list_sales` takes.
#[derive(Debug, Args, Clone)]
pub struct SalesFilters {
    /// Only sales with this status (paid, approved, refunded, waiting_payment, refused, …)
    #[arg(long)]
    pub status: Option<String>,
    /// Only sales paid this way (credit_card, boleto, pix)
    #[arg(long, value_name = "METHOD")]
    pub payment_method: Option<String>,
    /// Only sales of this product
    #[arg(long, value_name = "ID")]
    pub product_id: Option<String>,
    /// Only sales of this affiliate
    #[arg(long, value_name = "ID")]
    pub affiliate_id: Option<String>,
    /// Full sales (payment breakdown, tracking, …) instead of list items
    #[arg(long)]
    pub full_details: bool,
    /// Only sales last updated from this DATE (with --updated-to)
    #[arg(long, value_name = "DATE", requires = "updated_to", value_parser = period_start)]
    pub updated_from: Option<DateArg>,
    /// Only sales last updated until this DATE (with --updated-from)
    #[arg(long, value_name = "DATE", requires = "updated_from", value_parser = period_end)]
    pub updated_to: Option<DateArg>,
}

impl SalesFilters {
    fn check_updated(&self) -> Result<(), String> {
        match (&self.updated_from, &self.updated_to) {
            (Some(from), Some(to)) => ordered(("--updated-from", from), ("--updated-to", to)),
            _ => Ok(()),
        }
    }
}

#[derive(Debug, Args)]
pub struct SalesListArgs {
    /// First day or instant of the period
    #[arg(long, value_name = "DATE", value_parser = period_start)]
    pub start_date: DateArg,
    /// Last day (included) or instant (excluded) of the period
    #[arg(long, value_name = "DATE", value_parser = period_end)]
    pub end_date: DateArg,
    #[command(flatten)]
    pub filters: SalesFilters,
    #[command(flatten)]
    pub paging: Paging,
}

/// Output formats of `sales export`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// One JSON sale per line, as the API returns it
    Jsonl,
    /// Flat columns (id, reference, dates, status, amounts, product, customer)
    Csv,
}

#[derive(Debug, Args)]
pub struct ExportArgs {
    /// First day or instant of the period
    #[arg(long, value_name = "DATE", value_parser = period_start)]
    pub from: DateArg,
    /// Last day (included) or instant (excluded) of the period
    #[arg(long, value_name = "DATE", value_parser = period_end)]
    pub to: DateArg,
    /// Output format
    #[arg(long, value_enum, default_value_t = Format::Jsonl)]
    pub format: Format,
    /// Write to FILE (through FILE.partial, renamed once complete) instead of stdout
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
    #[command(flatten)]
    pub filters: SalesFilters,
    /// Sales per request, 1 to 100
    #[arg(long, value_name = "N", default_value_t = 100, value_parser = clap::value_parser!(u32).range(1..=100))]
    pub page_size: u32,
    /// Pages fetched at once
    #[arg(long, value_name = "N", default_value_t = 4, value_parser = clap::value_parser!(u32).range(1..=16))]
    pub concurrency: u32,
}

#[derive(Debug, Args)]
pub struct StatsArgs {
    /// First day or instant of the period
    #[arg(long, value_name = "DATE", value_parser = period_start)]
    pub start_date: DateArg,
    /// Last day (included) or instant (excluded) of the period
    #[arg(long, value_name = "DATE", value_parser = period_end)]
    pub end_date: DateArg,
    /// Only this product
    #[arg(long, value_name = "ID")]
    pub product_id: Option<String>,
}

#[derive(Debug, Subcommand)]
pub enum ProductsCommand {
    /// Every product, or one page
    List {
        #[command(flatten)]
        paging: Paging,
    },
    /// One product, with offers, links and batches
    Get {
        /// The product id
        id: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum PayoutsCommand {
    /// Every payout, or one page
    List {
        /// Only payouts of this legal entity
        #[arg(long, value_name = "ID")]
        legal_entity_id: Option<String>,
        #[command(flatten)]
        paging: Paging,
    },
    /// One payout
    Get {
        /// The payout id
        id: String,
    },
    /// Request a payout (moves money; never retried)
    Create {
        /// Amount in cents (R$ 10.00 is 1000)
        #[arg(long, value_name = "CENTS", value_parser = clap::value_parser!(i64).range(1..))]
        amount: i64,
    },
}

/// Affiliate statuses the API takes.
pub const AFFILIATE_STATUSES: [&str; 3] = ["active", "blocked", "refused"];

#[derive(Debug, Subcommand)]
pub enum AffiliatesCommand {
    /// Every affiliate, or one page
    List {
        /// Only affiliates with this status (active, blocked, refused, …)
        #[arg(long)]
        status: Option<String>,
        /// Only affiliates of this product
        #[arg(long, value_name = "ID")]
        product_id: Option<String>,
        /// Only affiliates whose name or e-mail contains this text
        #[arg(long, value_name = "TEXT")]
        search: Option<String>,
        #[command(flatten)]
        paging: Paging,
    },
    /// One affiliate
    Get {
        /// The affiliate id (`affiliate_id`)
        id: String,
    },
    /// Change an affiliate's commission or status
    #[command(group(ArgGroup::new("change").required(true).multiple(true).args(["commission", "status"])))]
    Update {
        /// The affiliate id (`affiliate_id`)
        id: String,
        /// Commission in cents
        #[arg(long, value_name = "CENTS", value_parser = clap::value_parser!(i64).range(0..))]
        commission: Option<i64>,
        /// New status
        #[arg(long, value_parser = PossibleValuesParser::new(AFFILIATE_STATUSES))]
        status: Option<String>,
    },
}

#[derive(Debug, Subcommand)]
pub enum WebhooksCommand {
    /// Every webhook registration, or one page (tokens included, as the API returns them)
    List {
        /// Only webhooks registered for this product
        #[arg(long, value_name = "ID")]
        product_id: Option<String>,
        /// Only webhooks whose name contains this text
        #[arg(long, value_name = "TEXT")]
        search: Option<String>,
        #[command(flatten)]
        paging: Paging,
    },
    /// One webhook registration
    Get {
        /// The webhook id
        id: String,
    },
    /// Register a webhook
    Create {
        /// A name for it
        #[arg(long)]
        name: String,
        /// Where Kiwify posts the events
        #[arg(long)]
        url: String,
        /// `all`, or one product id
        #[arg(long, value_name = "all|PRODUCT_ID", default_value = "all")]
        products: String,
        /// An event to send (repeat for several)
        #[arg(long = "trigger", value_name = "T", required = true, value_parser = PossibleValuesParser::new(Trigger::NAMES))]
        triggers: Vec<String>,
        /// Signing token (a long random one); the API generates one when absent
        #[arg(long, value_parser = NonEmptyStringValueParser::new())]
        token: Option<String>,
    },
    /// Change a webhook: the options given replace the current values, the rest is kept
    #[command(group(ArgGroup::new("change").required(true).multiple(true).args(["name", "url", "products", "triggers", "token"])))]
    Update {
        /// The webhook id
        id: String,
        /// New name
        #[arg(long)]
        name: Option<String>,
        /// New URL
        #[arg(long)]
        url: Option<String>,
        /// `all`, or one product id
        #[arg(long, value_name = "all|PRODUCT_ID")]
        products: Option<String>,
        /// The events to send, replacing the current list (repeat for several)
        #[arg(long = "trigger", value_name = "T", value_parser = PossibleValuesParser::new(Trigger::NAMES))]
        triggers: Vec<String>,
        /// New signing token
        #[arg(long, value_parser = NonEmptyStringValueParser::new())]
        token: Option<String>,
    },
    /// Delete a webhook registration
    Delete {
        /// The webhook id
        id: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum EventsCommand {
    /// Participants of an event product (with the ticket totals when one page is asked for)
    Participants(ParticipantsArgs),
}

#[derive(Debug, Args)]
pub struct ParticipantsArgs {
    /// The event product id
    pub product_id: String,
    /// Only participants who checked in (true) or did not (false)
    #[arg(long, value_name = "BOOL")]
    pub checked_in: Option<bool>,
    /// Only this ticket batch
    #[arg(long, value_name = "ID")]
    pub batch_id: Option<String>,
    /// Only this external id
    #[arg(long, value_name = "ID")]
    pub external_id: Option<String>,
    /// Only tickets of this order (sale id)
    #[arg(long, value_name = "ID")]
    pub order_id: Option<String>,
    /// Only this CPF
    #[arg(long)]
    pub cpf: Option<String>,
    /// Only this phone number
    #[arg(long)]
    pub phone: Option<String>,
    /// Only participants created from this DATE
    #[arg(long, value_name = "DATE", value_parser = period_start)]
    pub created_from: Option<DateArg>,
    /// Only participants created until this DATE
    #[arg(long, value_name = "DATE", value_parser = period_end)]
    pub created_to: Option<DateArg>,
    /// Only participants updated from this DATE
    #[arg(long, value_name = "DATE", value_parser = period_start)]
    pub updated_from: Option<DateArg>,
    /// Only participants updated until this DATE
    #[arg(long, value_name = "DATE", value_parser = period_end)]
    pub updated_to: Option<DateArg>,
    #[command(flatten)]
    pub paging: Paging,
}

#[derive(Debug, Subcommand)]
pub enum WebhookCommand {
    /// Verify a delivery's signature and print its event as JSON
    ///
    /// The body is read from FILE, or from stdin when FILE is absent or `-`. Exits 1, with the
    /// reason on stderr, when the delivery is refused.
    #[command(group(ArgGroup::new("signed").required(true).args(["signature", "url"])))]
    Verify {
        /// The webhook's token; repeat to accept any of several (during a rotation)
        #[arg(long = "token", value_name = "TOKEN", required = true, value_parser = NonEmptyStringValueParser::new())]
        tokens: Vec<String>,
        /// The `signature` query parameter of the delivery
        #[arg(long, value_name = "SIG")]
        signature: Option<String>,
        /// The full URL (or query string) the delivery was posted to
        #[arg(long)]
        url: Option<String>,
        /// File holding the exact body received
        file: Option<PathBuf>,
    },
}

#[derive(Debug, Args)]
pub struct SandboxArgs {
    /// Address to listen on; anything but loopback exposes the sandbox (and its fixed test
    /// credentials) to the network, with a warning on stderr
    #[arg(long, value_name = "ADDR", default_value_t = IpAddr::V4(Ipv4Addr::LOCALHOST))]
    pub bind: IpAddr,
    /// Port to listen on (0 picks a free one)
    #[arg(long, default_value_t = 0)]
    pub port: u16,
    /// Seed of the generated data (same seed, same data)
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// Number of seeded sales
    #[arg(long, default_value_t = 1500)]
    pub sales: usize,
    /// Answer without the API's rate limit of 100 requests per minute
    #[arg(long)]
    pub no_rate_limit: bool,
}
