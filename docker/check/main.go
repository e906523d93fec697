// dockercheck checks docker/ without a Docker engine:
//
//	dockercheck dockerfile FILE [ARG=value...]  lint rules of `docker build --check`
//	                                           (BuildKit's Dockerfile frontend)
//	dockercheck image FILE [ARG=value...]       the final image config (JSON) as
//	                                           BuildKit would produce it
//	dockercheck compose FILE                    load, interpolate and validate a
//	                                           compose file (compose-go), print it
//	dockercheck context DIR                     the files of the build context DIR
//	                                           after DIR/.dockerignore, one a line
//
// No registry is contacted: base images resolve to an empty linux config.
// Built by docker/check.sh.
package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/compose-spec/compose-go/v2/cli"
	"github.com/moby/buildkit/client/llb"
	"github.com/moby/buildkit/client/llb/sourceresolver"
	"github.com/moby/buildkit/frontend/dockerfile/dockerfile2llb"
	"github.com/moby/buildkit/frontend/dockerui"
	"github.com/moby/patternmatcher"
	"github.com/moby/patternmatcher/ignorefile"
	digest "github.com/opencontainers/go-digest"
)

func main() {
	if len(os.Args) < 3 {
		fail(fmt.Errorf("usage: dockercheck dockerfile|image|compose FILE [ARG=value...]"))
	}
	ctx := context.Background()
	file := os.Args[2]
	switch os.Args[1] {
	case "compose":
		opts, err := cli.NewProjectOptions([]string{file}, cli.WithOsEnv, cli.WithDotEnv)
		if err != nil {
			fail(err)
		}
		p, err := opts.LoadProject(ctx)
		if err != nil {
			fail(err)
		}
		out, err := p.MarshalYAML()
		if err != nil {
			fail(err)
		}
		os.Stdout.Write(out)
	case "image":
		dt := read(file)
		_, img, _, _, err := dockerfile2llb.Dockerfile2LLB(ctx, dt, convertOpt(file, dt, nil))
		if err != nil {
			fail(err)
		}
		out, _ := json.MarshalIndent(img.Config, "", "  ")
		os.Stdout.Write(append(out, '\n'))
	case "dockerfile":
		dt := read(file)
		sm := llb.NewSourceMap(nil, file, "Dockerfile", dt)
		sm.Definition = &llb.Definition{}
		res, err := dockerfile2llb.DockerfileLint(ctx, dt, convertOpt(file, dt, sm))
		if err != nil {
			fail(err)
		}
		for _, w := range res.Warnings {
			line := 0
			if w.Location != nil && len(w.Location.Ranges) > 0 {
				line = int(w.Location.Ranges[0].Start.Line)
			}
			fmt.Printf("%s:%d: %s: %s\n", file, line, w.RuleName, w.Detail)
		}
		if res.Error != nil {
			fail(fmt.Errorf("%s", res.Error.Message))
		}
		if len(res.Warnings) > 0 {
			os.Exit(1)
		}
		fmt.Printf("%s: no lint warnings\n", file)
	case "context":
		listContext(file)
	default:
		fail(fmt.Errorf("unknown command %q", os.Args[1]))
	}
}

func convertOpt(file string, dt []byte, sm *llb.SourceMap) dockerfile2llb.ConvertOpt {
	args := map[string]string{}
	for _, a := range os.Args[3:] {
		if k, v, ok := strings.Cut(a, "="); ok {
			args[k] = v
		}
	}
	return dockerfile2llb.ConvertOpt{
		Config:       dockerui.Config{BuildArgs: args},
		SourceMap:    sm,
		MetaResolver: offline{},
	}
}

func read(file string) []byte {
	dt, err := os.ReadFile(file)
	if err != nil {
		fail(err)
	}
	return dt
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "error:", err)
	os.Exit(1)
}

// offline resolves every base image to an empty linux config without asking a registry.
type offline struct{}

func (offline) ResolveImageConfig(ctx context.Context, ref string, opt sourceresolver.Opt) (string, digest.Digest, []byte, error) {
	cfg := `{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[]},"config":{"Env":["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"]}}`
	return ref, digest.FromString(cfg), []byte(cfg), nil
}

// listContext prints the files a build with context dir would send, applying
// .dockerignore the way the Docker CLI / BuildKit do.
func listContext(dir string) {
	var patterns []string
	if f, err := os.Open(filepath.Join(dir, ".dockerignore")); err == nil {
		patterns, err = ignorefile.ReadAll(f)
		f.Close()
		if err != nil {
			fail(err)
		}
	}
	pm, err := patternmatcher.New(patterns)
	if err != nil {
		fail(err)
	}
	infos := map[string]patternmatcher.MatchInfo{}
	err = filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, path)
		if rel == "." {
			return nil
		}
		parent := infos[filepath.Dir(rel)]
		excluded, info, err := pm.MatchesUsingParentResults(rel, parent)
		if err != nil {
			return err
		}
		if d.IsDir() {
			infos[rel] = info
			// Without exception patterns nothing below an excluded dir can come back.
			if excluded && !pm.Exclusions() {
				return filepath.SkipDir
			}
			return nil
		}
		if !excluded {
			fmt.Println(filepath.ToSlash(rel))
		}
		return nil
	})
	if err != nil {
		fail(err)
	}
}
