// Command ecredit is the e-commerce credit platform of Chengde: one binary
// with subcommands (serve, migrate, demo, account, code, import, ledger,
// backup, restore, version).
//
// Every subcommand that touches the store takes --data DIR (ECREDIT_DATA,
// default ./ecredit-data) and --db URL (ECREDIT_DB; default the embedded
// SQLite database DIR/ecredit.db), so that `ecredit account create --data
// DIR …` works on the directory a running `ecredit serve --data DIR` uses.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"sort"
	"strings"
	"syscall"

	"ecredit/errs"
)

// command is one subcommand.
type command struct {
	summary string // one line, Chinese (English)
	run     func(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int
}

var commands map[string]command

func init() {
	commands = map[string]command{
		"serve":   {"启动平台（API 与门户网站）(run the platform: API and web portal)", runServe},
		"migrate": {"执行数据库迁移并显示版本 (apply database migrations, print the version)", runMigrate},
		"demo":    {"生成演示城市数据（承德）(generate the demo city of Chengde)", runDemo},
		"account": {"管理账户与 API 密钥 (manage accounts and API keys)", runAccount},
		"code":    {"校验统一社会信用代码、身份证号、商品条码、行政区划代码 (check identifier codes)", runCode},
		"import":  {"导入信用记录文件（CSV/XLSX）(import record files)", runImport},
		"ledger":  {"核验可验证账本、打印检查点与证明 (verify the ledger, print checkpoints and proofs)", runLedger},
		"version": {"显示版本 (print the version)", runVersion},
		"help":    {"显示帮助 (show help)", runHelp},
		// backup and restore (issue 5)
		"backup":  {"在线备份数据库与密钥文件 (online backup of the database and the key files)", runBackup},
		"restore": {"把备份恢复到空的数据目录或数据库，并核验账本 (restore a backup into an empty target, verify the ledger)", runRestore},
	}
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	go func() {
		// After the first signal starts the clean shutdown, a second one
		// kills the process at once.
		<-ctx.Done()
		stop()
	}()
	code := run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// run dispatches to a subcommand and returns the exit status: 0 success,
// 1 failure, 2 bad usage.
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		usage(stderr)
		return 2
	}
	name := args[0]
	switch name {
	case "-h", "-help", "--help":
		usage(stdout)
		return 0
	}
	c, ok := commands[name]
	if !ok {
		fmt.Fprintf(stderr, "未知的子命令「%s」(unknown subcommand %q)\n\n", name, name)
		usage(stderr)
		return 2
	}
	return c.run(ctx, args[1:], stdin, stdout, stderr)
}

func usage(w io.Writer) {
	fmt.Fprint(w, `ecredit — 承德市电子商务信用平台 (the e-commerce credit platform of Chengde)

用法 (usage): ecredit <子命令 subcommand> [参数 flags]

子命令 (subcommands):
`)
	var names []string
	for n := range commands {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(w, "  %-8s %s\n", n, commands[n].summary)
	}
	fmt.Fprint(w, `
每个子命令的参数见 ecredit <子命令> -h (flags of a subcommand: ecredit <subcommand> -h)

示例 (examples):
  ecredit serve --demo                       在 http://127.0.0.1:8080/ 启动并载入演示数据
  ecredit account create --role platform --name 淘宝
  ecredit code 91130802MA0CF1X29W 130802199001011235
  ecredit import --type penalty --source 承德市市场监督管理局 处罚.csv
`)
}

func runHelp(_ context.Context, args []string, _ io.Reader, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		usage(stdout)
		return 0
	}
	c, ok := commands[args[0]]
	if !ok || args[0] == "help" {
		fmt.Fprintf(stderr, "未知的子命令「%s」(unknown subcommand)\n", args[0])
		return 2
	}
	return c.run(context.Background(), append(args[1:], "-h"), strings.NewReader(""), stdout, stderr)
}

// newFlags returns a flag set for a subcommand whose usage text prints the
// synopsis and the description (Chinese, then English) before the flags.
func newFlags(name, synopsis, description string, stdout, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet("ecredit "+name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		w := fs.Output()
		fmt.Fprintf(w, "用法 (usage): ecredit %s %s\n\n%s\n\n参数 (flags):\n", name, synopsis, description)
		fs.PrintDefaults()
	}
	return fs
}

// parse parses args; it returns -1 to go on, or the exit status: 0 after
// -h (usage printed to stdout), 2 after bad flags.
func parse(fs *flag.FlagSet, args []string, stdout io.Writer) int {
	var helpOut io.Writer = stdout
	errOut := fs.Output()
	// -h prints the usage on stdout; a bad flag prints it on stderr.
	for _, a := range args {
		if a == "--" {
			break
		}
		if a == "-h" || a == "-help" || a == "--help" || a == "--h" {
			fs.SetOutput(helpOut)
			fs.Usage()
			fs.SetOutput(errOut)
			return 0
		}
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	return -1
}

// fail prints an error for people and returns exit status 1.
func fail(stderr io.Writer, err error) int {
	if errs.CodeOf(err) == errs.Internal {
		fmt.Fprintf(stderr, "错误 (error): %v\n", err)
		return 1
	}
	for _, e := range errs.All(err) {
		if e.Field != "" {
			fmt.Fprintf(stderr, "错误 (error) [%s]: %s\n", e.Field, e.Message)
		} else {
			fmt.Fprintf(stderr, "错误 (error): %s\n", e.Message)
		}
	}
	return 1
}
