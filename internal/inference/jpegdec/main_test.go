package jpegdec

import (
	"flag"
	"os"
	"testing"
)

// fuzzMinimizeTime caps how long a fuzzing worker minimises an input before going on, unless
// -fuzzminimizetime is given. go test minimises every input that reaches new code, for up to
// 60 s by default; the decoder's seeds are whole JPEG files of 2-4 KB, which the minimiser
// shrinks by trying to drop byte ranges (quadratic in the length) at tens of microseconds a
// try, so with the default each new input stopped the fuzzer for a minute (FuzzSample made
// about 13 executions in 40 s).
const fuzzMinimizeTime = "2s"

func TestMain(m *testing.M) {
	flag.Parse()
	if f := flag.Lookup("test.fuzz"); f != nil && f.Value.String() != "" {
		given := false
		flag.Visit(func(f *flag.Flag) { given = given || f.Name == "test.fuzzminimizetime" })
		if !given {
			if err := flag.Set("test.fuzzminimizetime", fuzzMinimizeTime); err != nil {
				panic(err)
			}
		}
	}
	os.Exit(m.Run())
}
