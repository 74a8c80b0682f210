//! `kiwify sales export`: every sale of a period, as JSON Lines or CSV.
//!
//! Sales come from `Client::sales`, which reads the period in windows of at most 89 days and
//! yields each sale once. They are written as they arrive, through a buffer. With `--out`, they
//! go to `FILE.partial`, renamed to `FILE` once the last one is written: a file named `FILE`
//! is always complete. On a failure the partial file is kept (when it holds any sale) and the
//! message says how many sales it holds.
//!
//! A progress line is drawn on stderr when stderr is a terminal, and nothing is written there
//! when it is not. When stdout is the same terminal, sales are written to it whole lines at a
//! time while the progress line is cleared, so the two never mix on screen.

use std::fs::{self, File};
use std::io::{self, BufWriter, IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

use futures_util::StreamExt;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use kiwify::generated::types::Sale;
use kiwify::paginate::timestamp;
use kiwify::{Client, SalesRange};

use crate::args::{ExportArgs, Format};
use crate::commands::sales_query;
use crate::output::{Failure, Outcome};

pub async fn run(client: &Client, args: ExportArgs) -> Outcome {
    let range = SalesRange::new(args.from.at, args.to.at)?;
    let query = sales_query(range, &args.filters)?
        .page_size(args.page_size)
        .concurrency(args.concurrency as usize);

    let destination = Destination::open(args.out.as_deref())?;
    let progress = Progress::new(io::stderr().is_terminal());
    let mut sink = Sink::new(args.format, destination.writer(&progress)?)?;

    let mut sales = client.sales(query);
    let mut written = 0u64;
    let mut result = Ok(());
    while let Some(sale) = sales.next().await {
        let sale = match sale {
            Ok(sale) => sale,
            Err(error) => {
                result = Err(Failure::from(error));
                break;
            }
        };
        if let Err(failure) = sink.write(&sale) {
            result = Err(failure);
            break;
        }
        written += 1;
        progress.advance(&sale);
    }
    let finished = result.and_then(|()| sink.finish());
    progress.clear();

    match finished {
        Ok(output) => {
            destination.commit(output)?;
            if io::stderr().is_terminal() {
                eprintln!("exported {written} sales{}", destination.describe(" to "));
            }
            Ok(())
        }
        Err(failure) if failure.is_broken_pipe() => Err(failure),
        Err(failure) => {
            let kept = destination.abandon(written);
            Err(failure.context(format!("export stopped after {written} sales{kept}")))
        }
    }
}

/// Where the sales go: stdout, or a file written under a temporary name.
struct Destination {
    /// `(final path, partial path)` for `--out`.
    file: Option<(PathBuf, PathBuf)>,
}

impl Destination {
    fn open(out: Option<&Path>) -> Result<Self, Failure> {
        let Some(path) = out else {
            return Ok(Destination { file: None });
        };
        let mut partial = path.as_os_str().to_owned();
        partial.push(".partial");
        Ok(Destination {
            file: Some((path.to_owned(), PathBuf::from(partial))),
        })
    }

    fn writer(&self, progress: &Progress) -> Result<Output, Failure> {
        match &self.file {
            None => match &progress.0 {
                Some(bar) if io::stdout().is_terminal() => {
                    Ok(Output::BesideBar(BesideBar::new(io::stdout(), bar.clone())))
                }
                _ => Ok(Output::Stdout(io::stdout())),
            },
            Some((_, partial)) => File::create(partial).map(Output::File).map_err(|error| {
                Failure::new(format!("cannot create {}: {error}", partial.display()))
            }),
        }
    }

    /// Makes the complete output visible under its final name.
    fn commit(&self, output: Output) -> Outcome {
        let (Some((path, partial)), Output::File(file)) = (&self.file, output) else {
            return Ok(());
        };
        file.sync_all()
            .and_then(|()| fs::rename(partial, path))
            .map_err(|error| Failure::new(format!("cannot write {}: {error}", path.display())))
    }

    /// After a failure: removes an empty partial file; says where a non-empty one is.
    fn abandon(&self, written: u64) -> String {
        match &self.file {
            None => String::new(),
            Some((_, partial)) if written == 0 => {
                let _ = fs::remove_file(partial);
                String::new()
            }
            Some((path, partial)) => format!(
                " (kept in {}; {} was not written)",
                partial.display(),
                path.display()
            ),
        }
    }

    fn describe(&self, prefix: &str) -> String {
        match &self.file {
            Some((path, _)) => format!("{prefix}{}", path.display()),
            None => String::new(),
        }
    }
}

enum Output {
    Stdout(io::Stdout),
    /// Stdout on the terminal the progress line is drawn on.
    BesideBar(BesideBar<io::Stdout>),
    File(File),
}

impl Write for Output {
    fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
        match self {
            Output::Stdout(out) => out.write(bytes),
            Output::BesideBar(out) => out.write(bytes),
            Output::File(file) => file.write(bytes),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match self {
            Output::Stdout(out) => out.flush(),
            Output::BesideBar(out) => out.flush(),
            Output::File(file) => file.flush(),
        }
    }
}

/// Output that shares a terminal with a progress bar: only whole lines are passed on, each
/// batch while the bar is cleared, so that a line never lands in the middle of the bar.
struct BesideBar<W: Write> {
    out: W,
    bar: ProgressBar,
    /// The last, unfinished line.
    pending: Vec<u8>,
}

impl<W: Write> BesideBar<W> {
    fn new(out: W, bar: ProgressBar) -> Self {
        BesideBar {
            out,
            bar,
            pending: Vec::new(),
        }
    }
}

impl<W: Write> Write for BesideBar<W> {
    fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
        self.pending.extend_from_slice(bytes);
        if let Some(last_newline) = self.pending.iter().rposition(|&byte| byte == b'\n') {
            let lines: Vec<u8> = self.pending.drain(..=last_newline).collect();
            let out = &mut self.out;
            self.bar.suspend(|| out.write_all(&lines))?;
        }
        Ok(bytes.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        let rest = std::mem::take(&mut self.pending);
        let out = &mut self.out;
        self.bar.suspend(|| {
            out.write_all(&rest)?;
            out.flush()
        })
    }
}

/// The columns of the CSV format, in order.
pub const CSV_COLUMNS: [&str; 21] = [
    "id",
    "reference",
    "type",
    "created_at",
    "updated_at",
    "approved_date",
    "refunded_at",
    "status",
    "payment_method",
    "installments",
    "net_amount",
    "currency",
    "product_id",
    "product_name",
    "plan_id",
    "plan_name",
    "customer_id",
    "customer_name",
    "customer_email",
    "customer_country",
    "parent_order_id",
];

/// One sale as a CSV record of [`CSV_COLUMNS`]; absent values are empty.
fn csv_record(sale: &Sale) -> [String; 21] {
    let text = |value: &Option<String>| value.clone().unwrap_or_default();
    let product = sale.product.as_ref();
    let customer = sale.customer.as_ref();
    [
        sale.id.clone(),
        text(&sale.reference),
        text(&sale.type_),
        sale.created_at.map(timestamp).unwrap_or_default(),
        sale.updated_at.map(timestamp).unwrap_or_default(),
        sale.approved_date.map(timestamp).unwrap_or_default(),
        sale.refunded_at.map(timestamp).unwrap_or_default(),
        shown(sale.status.as_ref()),
        shown(sale.payment_method.as_ref()),
        shown(sale.installments.as_ref()),
        shown(sale.net_amount.as_ref()),
        text(&sale.currency),
        product.and_then(|p| p.id.clone()).unwrap_or_default(),
        product.and_then(|p| p.name.clone()).unwrap_or_default(),
        product.and_then(|p| p.plan_id.clone()).unwrap_or_default(),
        product
            .and_then(|p| p.plan_name.clone())
            .unwrap_or_default(),
        customer.and_then(|c| c.id.clone()).unwrap_or_default(),
        customer.and_then(|c| c.name.clone()).unwrap_or_default(),
        customer.and_then(|c| c.email.clone()).unwrap_or_default(),
        customer.and_then(|c| c.country.clone()).unwrap_or_default(),
        text(&sale.parent_order_id),
    ]
}

fn shown(value: Option<&impl std::fmt::Display>) -> String {
    value.map(ToString::to_string).unwrap_or_default()
}

/// Writes sales in the chosen format.
enum Sink {
    Jsonl(BufWriter<Output>),
    Csv(Box<csv::Writer<BufWriter<Output>>>),
}

impl Sink {
    fn new(format: Format, output: Output) -> Result<Self, Failure> {
        let buffered = BufWriter::with_capacity(64 * 1024, output);
        match format {
            Format::Jsonl => Ok(Sink::Jsonl(buffered)),
            Format::Csv => {
                let mut writer = csv::Writer::from_writer(buffered);
                writer.write_record(CSV_COLUMNS).map_err(csv_failure)?;
                Ok(Sink::Csv(Box::new(writer)))
            }
        }
    }

    fn write(&mut self, sale: &Sale) -> Outcome {
        match self {
            Sink::Jsonl(out) => {
                serde_json::to_writer(&mut *out, sale)?;
                out.write_all(b"\n")?;
            }
            Sink::Csv(writer) => writer.write_record(csv_record(sale)).map_err(csv_failure)?,
        }
        Ok(())
    }

    /// Flushes every buffer and gives the output back.
    fn finish(self) -> Result<Output, Failure> {
        let buffered = match self {
            Sink::Jsonl(out) => out,
            Sink::Csv(writer) => writer
                .into_inner()
                .map_err(|error| Failure::from(io::Error::from(error.error().kind())))?,
        };
        buffered
            .into_inner()
            .map_err(|error| Failure::from(error.into_error()))
    }
}

fn csv_failure(error: csv::Error) -> Failure {
    match error.into_kind() {
        csv::ErrorKind::Io(error) => Failure::from(error),
        other => Failure::new(format!("cannot write CSV: {other:?}")),
    }
}

/// A one-line counter on stderr, when stderr is a terminal (whatever stdout is).
struct Progress(Option<ProgressBar>);

impl Progress {
    fn new(show: bool) -> Self {
        if !show {
            return Progress(None);
        }
        let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr());
        let style =
            ProgressStyle::with_template("{spinner} {human_pos} sales exported in {elapsed} {msg}")
                .unwrap_or_else(|_| ProgressStyle::default_spinner());
        bar.set_style(style);
        bar.enable_steady_tick(Duration::from_millis(120));
        Progress(Some(bar))
    }

    fn advance(&self, sale: &Sale) {
        let Some(bar) = &self.0 else { return };
        bar.inc(1);
        // Windows come in order: the day of a recent sale shows how far the export got.
        if bar.position() % 100 == 1
            && let Some(created) = sale.created_at
        {
            bar.set_message(format!("at {}", created.format("%Y-%m-%d")));
        }
    }

    fn clear(&self) {
        if let Some(bar) = &self.0 {
            bar.finish_and_clear();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn beside_a_bar_only_whole_lines_are_written() {
        let mut out = BesideBar::new(Vec::new(), ProgressBar::hidden());
        out.write_all(b"{\"id\":1}\n{\"id\"").unwrap();
        assert_eq!(out.out, b"{\"id\":1}\n");
        out.write_all(b":2}\n{\"id\":3}\n{").unwrap();
        assert_eq!(out.out, b"{\"id\":1}\n{\"id\":2}\n{\"id\":3}\n");
        assert_eq!(out.pending, b"{");
        out.flush().unwrap();
        assert_eq!(out.out, b"{\"id\":1}\n{\"id\":2}\n{\"id\":3}\n{");
        assert!(out.pending.is_empty());
    }
}
