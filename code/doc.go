// Package code parses, validates and generates the identifier codes that the
// credit platform keys its records by:
//
//   - the unified social credit code (统一社会信用代码, GB 32100-2015), with its
//     embedded organisation code (组织机构代码, GB 11714);
//   - the resident ID number (公民身份号码, GB 11643-1999), including 15-digit
//     legacy numbers (GB 11643-1989), which are upgraded to 18 digits;
//   - GTIN-8/12/13/14 product barcodes (商品条码, GS1 mod-10 check digit);
//   - GB/T 2260 administrative division codes (行政区划代码), from a table
//     embedded in the binary (regions.tsv).
//
// All functions are pure: no I/O except the embedded table, no global state
// after initialisation, safe for concurrent use. Every parser returns a
// [Result] whose JSON form is the public contract shared by the CLI
// (`ecredit code --json`) and the API (`GET /api/v1/codes/{code}`).
// Messages in Result.Errors and Result.Warnings are in 简体中文 with an
// English gloss in parentheses.
//
// # Input normalisation
//
// Every parser trims the input, maps full-width ASCII (Ａ１２, U+FF01–U+FF5E)
// to ASCII, removes white space (including the ideographic space U+3000) and
// dashes (-, ‐, –, —, －), and upper-cases letters. The result is
// Result.Normalized; for a 15-digit ID number it is the upgraded 18-digit form.
//
// # Decisions on ambiguous cases
//
// Unified social credit code ([ParseUSCC]):
//   - Characters outside 0-9A-HJ-NPQRTUWXY (no I, O, Z, S, V), an unknown
//     registration authority (position 1), a category (position 2) not defined
//     for that authority, or non-digits in the region (positions 3–8) are
//     errors.
//   - A region that is not in the embedded table is a warning, not an error:
//     divisions are created and renamed every year and the table is not the
//     complete national list.
//   - A wrong final check character is an error naming the expected character
//     ("校验码应为 L 而不是 N"), except for the legacy Xiamen/Fujian pilot codes
//     issued before 2016 (authority 9, region 3501xx or 3502xx, organisation code
//     starting with a letter), which are real but fail the checksum: they are
//     valid with a warning asking for manual verification.
//   - If the final check passes but the embedded GB 11714 organisation code check
//     does not, the code is valid with a warning naming the organisation-code
//     check: GB 32100 only defines the final check, yet such a code must never be
//     accepted silently. The classic false positive 362322198709086409 (a
//     resident ID number that passes the USCC checksum) fails the organisation
//     code check and is also rejected by the category rule (authority 3 has no
//     category 6), so [ParseUSCC] reports it invalid; [Parse] classifies it as a
//     resident ID number.
//
// Resident ID number ([ParseID]):
//   - The check digit (ISO 7064 MOD 11-2) must match; a lower-case x is
//     accepted.
//   - The birth date must be a real calendar date, not after the date of `now`
//     in China Standard Time (UTC+8). A birth year before 1900 is a warning, not
//     an error, because the standard's own example 440524188001010014 is born in
//     1880; years before 1800 are errors.
//   - Region: an unknown province (first two digits) is an error. For the
//     provinces whose prefecture-level codes the table lists completely,
//     current and historical (Beijing 11, Tianjin 12, Hebei 13, Shanghai 31),
//     an unknown prefecture (first four digits) is an error too — this rejects
//     311099199901010000. Any other code missing from the table is a warning:
//     ID numbers keep the code of the place of first registration, which may
//     have been abolished since, and the table is not the national list.
//
// [Parse] guesses the kind from length and character set: 18 characters whose
// first 17 are digits and whose last is a digit or X may be either a credit
// code or an ID number; both parsers run and the valid result wins, the ID
// number when both are valid (with a warning saying it also passes as a credit
// code); when neither is, the reading with fewer errors. 15 digits are an ID number, 8, 12, 13 or 14 digits a GTIN, 6 digits a
// region code, other 18-character strings a credit code.
package code
