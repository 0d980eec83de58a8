package record

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"strings"
	"time"
)

// Calendar says which dates are working days in mainland China: Monday to
// Friday, minus public holidays, plus the weekend make-up working days
// (调休上班) the State Council announces each year. Art. 85 of the
// Administrative Penalty Law counts the Art. 48 withdrawal deadline in
// working days, so deadlines are computed with a Calendar.
type Calendar struct {
	holidays map[Date]string // date → holiday name (放假)
	workdays map[Date]string // weekend date → holiday it makes up for (上班)
}

// NewCalendar returns a calendar with only weekends off.
func NewCalendar() *Calendar {
	return &Calendar{holidays: map[Date]string{}, workdays: map[Date]string{}}
}

// DefaultCalendar returns the calendar with the official PRC holiday
// arrangements for 2025 (国务院办公厅关于2025年部分节假日安排的通知,
// 国办发明电〔2024〕12号) and 2026 (国务院办公厅关于2026年部分节假日安排
// 的通知, published November 2025). Later years are loaded from a file
// (LoadCalendarFile); without them only weekends count as days off.
func DefaultCalendar() *Calendar {
	c := NewCalendar()
	if err := c.Load(strings.NewReader(officialHolidays)); err != nil {
		panic("record: built-in holiday table: " + err.Error())
	}
	return c
}

// officialHolidays is the built-in table, in the file format of Load.
const officialHolidays = `# 2025（国办发明电〔2024〕12号）
2025-01-01 holiday 元旦
2025-01-26 workday 春节调休上班
2025-01-28..2025-02-04 holiday 春节
2025-02-08 workday 春节调休上班
2025-04-04..2025-04-06 holiday 清明节
2025-04-27 workday 劳动节调休上班
2025-05-01..2025-05-05 holiday 劳动节
2025-05-31..2025-06-02 holiday 端午节
2025-09-28 workday 国庆节、中秋节调休上班
2025-10-01..2025-10-08 holiday 国庆节、中秋节
2025-10-11 workday 国庆节、中秋节调休上班
# 2026（国务院办公厅 2025 年 11 月通知）
2026-01-01..2026-01-03 holiday 元旦
2026-01-04 workday 元旦调休上班
2026-02-14 workday 春节调休上班
2026-02-15..2026-02-23 holiday 春节
2026-02-28 workday 春节调休上班
2026-04-04..2026-04-06 holiday 清明节
2026-05-01..2026-05-05 holiday 劳动节
2026-05-09 workday 劳动节调休上班
2026-06-19..2026-06-21 holiday 端午节
2026-09-20 workday 国庆节调休上班
2026-09-25..2026-09-27 holiday 中秋节
2026-10-01..2026-10-07 holiday 国庆节
2026-10-10 workday 国庆节调休上班
`

// LoadCalendarFile returns the default calendar extended (or overridden)
// by the entries in the named file.
func LoadCalendarFile(path string) (*Calendar, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("读取节假日文件失败 (cannot read holiday file): %w", err)
	}
	defer f.Close()
	c := DefaultCalendar()
	if err := c.Load(f); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return c, nil
}

// Load adds entries, one per line: "DATE holiday NAME", "DATE workday NAME"
// or a range "DATE..DATE holiday NAME". Blank lines and lines starting with
// # are ignored. A later entry for the same date replaces an earlier one.
func (c *Calendar) Load(r io.Reader) error {
	sc := bufio.NewScanner(r)
	line := 0
	for sc.Scan() {
		line++
		s := strings.TrimSpace(sc.Text())
		if s == "" || strings.HasPrefix(s, "#") {
			continue
		}
		f := strings.Fields(s)
		if len(f) < 2 {
			return fmt.Errorf("第 %d 行：格式应为「日期 holiday|workday 名称」(line %d: bad format)", line, line)
		}
		from, to := f[0], f[0]
		if i := strings.Index(f[0], ".."); i >= 0 {
			from, to = f[0][:i], f[0][i+2:]
		}
		a, err1 := ParseDate(from)
		b, err2 := ParseDate(to)
		if err1 != nil || err2 != nil || b < a {
			return fmt.Errorf("第 %d 行：日期「%s」无效 (line %d: bad date)", line, f[0], line)
		}
		if b.Time().Sub(a.Time()) > 31*24*time.Hour {
			return fmt.Errorf("第 %d 行：假期超过 31 天 (line %d: range too long)", line, line)
		}
		name := strings.Join(f[2:], " ")
		for d := a; d <= b; d = d.AddDate(0, 0, 1) {
			switch f[1] {
			case "holiday", "放假":
				c.holidays[d] = name
				delete(c.workdays, d)
			case "workday", "上班":
				c.workdays[d] = name
				delete(c.holidays, d)
			default:
				return fmt.Errorf("第 %d 行：类型必须是 holiday 或 workday (line %d: kind must be holiday or workday)", line, line)
			}
		}
	}
	return sc.Err()
}

// IsWorkingDay reports whether d is a working day.
func (c *Calendar) IsWorkingDay(d Date) bool {
	if _, ok := c.holidays[d]; ok {
		return false
	}
	if _, ok := c.workdays[d]; ok {
		return true
	}
	wd := d.Time().Weekday()
	return wd != time.Saturday && wd != time.Sunday
}

// Holiday returns the name of the holiday on d, if any.
func (c *Calendar) Holiday(d Date) (string, bool) {
	n, ok := c.holidays[d]
	return n, ok
}

// AddWorkingDays returns the date n working days after d (n ≥ 0): the
// day of d itself does not count, as in Art. 85 of the Administrative
// Penalty Law ("期间开始的日不计算在内"). With n = 0 it returns d.
func (c *Calendar) AddWorkingDays(d Date, n int) Date {
	for n > 0 {
		d = d.AddDate(0, 0, 1)
		if c.IsWorkingDay(d) {
			n--
		}
	}
	return d
}

// AddDays adds n calendar days, or n working days when working is true.
func (c *Calendar) AddDays(d Date, n int, working bool) Date {
	if working {
		return c.AddWorkingDays(d, n)
	}
	return d.AddDate(0, 0, n)
}
