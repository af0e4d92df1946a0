package scenarios

import (
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"slices"
	"strings"
)

//go:embed builtin/*.yaml
var builtinFS embed.FS

// Builtins lists the scenarios shipped inside the binary.
func Builtins() []string {
	entries, _ := fs.ReadDir(builtinFS, "builtin")
	var out []string
	for _, e := range entries {
		out = append(out, strings.TrimSuffix(e.Name(), ".yaml"))
	}
	slices.Sort(out)
	return out
}

// BuiltinSource returns a built-in scenario's YAML.
func BuiltinSource(name string) ([]byte, bool) {
	b, err := builtinFS.ReadFile(path.Join("builtin", name+".yaml"))
	return b, err == nil
}

// Load parses a built-in scenario by name, or a scenario file by path. A name that is
// both a file and a built-in is read as the file (a path with a slash or .yaml says which
// was meant); a directory of that name is not a scenario file, and leaves the built-in.
func Load(nameOrFile string) (*Scenario, error) {
	if st, err := os.Stat(nameOrFile); err == nil && st.IsDir() {
		if b, ok := BuiltinSource(nameOrFile); ok {
			return ParseScenario("built-in "+nameOrFile, b)
		}
	}
	data, err := os.ReadFile(nameOrFile)
	if err == nil {
		return ParseScenario(nameOrFile, data)
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("read scenario file: %w", err)
	}
	if b, ok := BuiltinSource(nameOrFile); ok {
		return ParseScenario("built-in "+nameOrFile, b)
	}
	return nil, fmt.Errorf("%w: %q is neither a file nor a built-in scenario; built-ins: %s",
		ErrNoScenario, nameOrFile, strings.Join(Builtins(), ", "))
}

// ErrNoScenario: the scenario named does not exist.
var ErrNoScenario = errors.New("no such scenario")
