//! The dashboard's figures as tables, written once and shown three ways: HTML on the page,
//! CSV and XLSX to download. The same `Sheet` feeds all three, so they cannot disagree.

use maud::{Markup, html};
use rust_xlsxwriter::{Format, Workbook, XlsxError};

#[derive(Debug, Clone, PartialEq)]
pub enum Cell {
    Text(String),
    Count(i64),
    /// A share 0..1, shown as a percentage.
    Rate(Option<f64>),
    Hours(Option<f64>),
}

impl Cell {
    pub fn display(&self) -> String {
        match self {
            Self::Text(text) => text.clone(),
            Self::Count(n) => n.to_string(),
            Self::Rate(Some(rate)) => format!("{:.1}%", rate * 100.0),
            Self::Hours(Some(hours)) => format!("{hours:.1}"),
            Self::Rate(None) | Self::Hours(None) => "—".to_owned(),
        }
    }

    /// For CSV: numbers as numbers, so a spreadsheet can sum them.
    fn raw(&self) -> String {
        match self {
            Self::Text(text) => text.clone(),
            Self::Count(n) => n.to_string(),
            Self::Rate(Some(value)) | Self::Hours(Some(value)) => format!("{value:.4}"),
            Self::Rate(None) | Self::Hours(None) => String::new(),
        }
    }
}

/// One table of figures.
#[derive(Debug, Clone)]
pub struct Sheet {
    /// Short name, used as the worksheet name and the table id.
    pub id: &'static str,
    pub title: String,
    pub header: Vec<String>,
    pub rows: Vec<Vec<Cell>>,
}

impl Sheet {
    pub fn html(&self) -> Markup {
        html! {
            div.scroll { table id=(self.id) {
                caption { (self.title) }
                thead { tr { @for name in &self.header { th scope="col" { (name) } } } }
                tbody {
                    @for row in &self.rows {
                        tr {
                            @for cell in row {
                                @match cell {
                                    Cell::Text(_) => td { (cell.display()) },
                                    _ => td.num { (cell.display()) },
                                }
                            }
                        }
                    }
                }
            } }
        }
    }
}

fn csv_field(value: &str) -> String {
    // A leading =, +, - or @ would be a formula in a spreadsheet: quote it as text.
    let risky =
        value.starts_with(['=', '+', '-', '@', '\t', '\r']) && value.parse::<f64>().is_err();
    let value = if risky {
        format!("'{value}")
    } else {
        value.to_owned()
    };
    if value.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", value.replace('"', "\"\""))
    } else {
        value
    }
}

/// All sheets in one CSV file: a title line, the header and rows, a blank line between.
/// Starts with a byte-order mark so spreadsheet programs read the Chinese as UTF-8.
pub fn csv(sheets: &[Sheet]) -> String {
    let mut out = String::from("\u{feff}");
    for (i, sheet) in sheets.iter().enumerate() {
        if i > 0 {
            out.push_str("\r\n");
        }
        out.push_str(&csv_field(&sheet.title));
        out.push_str("\r\n");
        let header: Vec<String> = sheet.header.iter().map(|h| csv_field(h)).collect();
        out.push_str(&header.join(","));
        out.push_str("\r\n");
        for row in &sheet.rows {
            let cells: Vec<String> = row.iter().map(|c| csv_field(&c.raw())).collect();
            out.push_str(&cells.join(","));
            out.push_str("\r\n");
        }
    }
    out
}

/// All sheets as one workbook, a worksheet each, rates formatted as percentages.
pub fn xlsx(sheets: &[Sheet]) -> Result<Vec<u8>, XlsxError> {
    let mut workbook = Workbook::new();
    let bold = Format::new().set_bold();
    let percent = Format::new().set_num_format("0.0%");
    let hours = Format::new().set_num_format("0.0");
    for sheet in sheets {
        let worksheet = workbook.add_worksheet();
        worksheet.set_name(sheet.id)?;
        worksheet.write_string_with_format(0, 0, &sheet.title, &bold)?;
        for (column, name) in sheet.header.iter().enumerate() {
            worksheet.write_string_with_format(1, column as u16, name, &bold)?;
            worksheet.set_column_width(column as u16, if column == 0 { 24 } else { 14 })?;
        }
        for (r, row) in sheet.rows.iter().enumerate() {
            let r = r as u32 + 2;
            for (c, cell) in row.iter().enumerate() {
                let c = c as u16;
                match cell {
                    Cell::Text(text) => {
                        worksheet.write_string(r, c, text)?;
                    }
                    Cell::Count(n) => {
                        worksheet.write_number(r, c, *n as f64)?;
                    }
                    Cell::Rate(Some(value)) => {
                        worksheet.write_number_with_format(r, c, *value, &percent)?;
                    }
                    Cell::Hours(Some(value)) => {
                        worksheet.write_number_with_format(r, c, *value, &hours)?;
                    }
                    Cell::Rate(None) | Cell::Hours(None) => {}
                }
            }
        }
    }
    workbook.save_to_buffer()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sheet() -> Sheet {
        Sheet {
            id: "figures",
            title: "指标 Figures".to_owned(),
            header: vec!["指标".to_owned(), "本期".to_owned()],
            rows: vec![
                vec![Cell::Text("受理量".to_owned()), Cell::Count(12)],
                vec![Cell::Text("满意率".to_owned()), Cell::Rate(Some(0.875))],
                vec![Cell::Text("=HYPERLINK(\"x\")".to_owned()), Cell::Rate(None)],
            ],
        }
    }

    #[test]
    fn csv_has_the_figures_and_defuses_formulas() {
        let text = csv(&[sheet()]);
        assert!(text.starts_with('\u{feff}'));
        assert!(text.contains("受理量,12\r\n"));
        assert!(text.contains("满意率,0.8750\r\n"));
        assert!(text.contains("\"'=HYPERLINK(\"\"x\"\")\","), "{text}");
    }

    #[test]
    fn xlsx_is_a_zip_workbook() {
        let bytes = xlsx(&[sheet()]).unwrap();
        assert_eq!(&bytes[..2], b"PK");
    }

    #[test]
    fn html_shows_rates_as_percentages() {
        let html = sheet().html().into_string();
        assert!(html.contains("87.5%"));
        assert!(html.contains("<table id=\"figures\">"));
    }
}
