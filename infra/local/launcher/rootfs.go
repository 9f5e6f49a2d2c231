package launcher

import (
	"bufio"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// ContainerLauncherDir is where Google's launcher mounts its directory (token file, teeserver
// socket) in the container.
const ContainerLauncherDir = "/run/container_launcher"

// hostFiles are the host files Google's launcher gives the container (host network namespace).
var hostFiles = []string{"/etc/hosts", "/etc/resolv.conf"}

// provideMounts puts into the image root what Google's launcher adds to a container and
// nothing else: its /run/container_launcher directory, and the host's /etc/hosts and
// /etc/resolv.conf. Whatever the image has at those paths is replaced (a mount hides it), and a
// symlink there is removed rather than followed. It returns the host path of the launcher
// directory.
func provideMounts(root string) (string, error) {
	for _, d := range []string{"run", "run/container_launcher", "etc"} {
		if err := realDir(filepath.Join(root, d)); err != nil {
			return "", err
		}
	}
	for _, f := range hostFiles {
		b, err := os.ReadFile(f)
		if errors.Is(err, fs.ErrNotExist) {
			b = nil // a host without the file: the container gets an empty one
		} else if err != nil {
			return "", err
		}
		dst := filepath.Join(root, f)
		if err := os.RemoveAll(dst); err != nil {
			return "", err
		}
		if err := writeNoFollow(dst, b); err != nil {
			return "", err
		}
	}
	return filepath.Join(root, ContainerLauncherDir), nil
}

// realDir makes p a real directory (mode 0755), removing a file or symlink in its place.
func realDir(p string) error {
	fi, err := os.Lstat(p)
	switch {
	case err == nil && fi.IsDir():
		return os.Chmod(p, 0o755)
	case err == nil:
		if err := os.Remove(p); err != nil {
			return err
		}
	case !errors.Is(err, fs.ErrNotExist):
		return err
	}
	return os.Mkdir(p, 0o755)
}

func writeNoFollow(p string, b []byte) error {
	f, err := os.OpenFile(p, os.O_CREATE|os.O_EXCL|os.O_WRONLY|syscall.O_NOFOLLOW, 0o644)
	if err != nil {
		return err
	}
	_, err = f.Write(b)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// containerProcess prepares the workload's process the way the container runtime would from the
// image config: args[0] resolved in the image (through the image's PATH when it has no slash),
// the image's WorkingDir (created if missing, default /), its User. With isolate, the process is
// chrooted into root and runs as that user; without, it runs from the host path of the image
// root as the current user.
func containerProcess(root string, cfg v1.Config, args, env []string, isolate bool) (*exec.Cmd, error) {
	r, err := os.OpenRoot(root)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	exe, err := resolveExecutable(r, args[0], env)
	if err != nil {
		return nil, err
	}
	wd := cfg.WorkingDir
	if wd == "" {
		wd = "/"
	}
	if !path.IsAbs(wd) {
		return nil, fmt.Errorf("the image's WorkingDir %q is not absolute", wd)
	}
	if rel := strings.TrimPrefix(path.Clean(wd), "/"); rel != "" {
		if err := r.MkdirAll(rel, 0o755); err != nil {
			return nil, fmt.Errorf("creating the working directory %s: %w", wd, err)
		}
	}
	cmd := &exec.Cmd{Path: exe, Args: args, Dir: wd, SysProcAttr: &syscall.SysProcAttr{Setpgid: true}}
	if !isolate {
		cmd.Path, cmd.Dir = filepath.Join(root, exe), filepath.Join(root, wd)
		return cmd, nil
	}
	uid, gid, err := imageUser(r, cfg.User)
	if err != nil {
		return nil, err
	}
	cmd.SysProcAttr.Chroot = root
	cmd.SysProcAttr.Credential = &syscall.Credential{Uid: uid, Gid: gid, Groups: []uint32{}}
	return cmd, nil
}

// resolveExecutable finds name in the image: as given when it holds a slash, else in the
// directories of the image's PATH. The errors read like the runtime's.
func resolveExecutable(r *os.Root, name string, env []string) (string, error) {
	if strings.Contains(name, "/") {
		p := path.Clean("/" + name)
		fi, err := r.Stat(p[1:])
		if err != nil {
			return "", fmt.Errorf("exec: %q: stat %s: no such file or directory in the image", name, p)
		}
		if !fi.Mode().IsRegular() || fi.Mode().Perm()&0o111 == 0 {
			return "", fmt.Errorf("exec: %q: permission denied (not an executable file in the image)", name)
		}
		return p, nil
	}
	pathVar := ""
	for _, kv := range env {
		if v, ok := strings.CutPrefix(kv, "PATH="); ok {
			pathVar = v
		}
	}
	for _, d := range filepath.SplitList(pathVar) {
		p := path.Clean("/" + d + "/" + name)
		if fi, err := r.Stat(p[1:]); err == nil && fi.Mode().IsRegular() && fi.Mode().Perm()&0o111 != 0 {
			return p, nil
		}
	}
	return "", fmt.Errorf("exec: %q: executable file not found in $PATH of the image", name)
}

// imageUser resolves the image's User (uid, uid:gid, name or name:group; default root) against
// the image's own /etc/passwd and /etc/group.
func imageUser(r *os.Root, user string) (uint32, uint32, error) {
	if user == "" {
		return 0, 0, nil
	}
	u, g, hasGroup := strings.Cut(user, ":")
	uid, gid := uint32(0), uint32(0)
	if n, err := strconv.ParseUint(u, 10, 32); err == nil {
		uid = uint32(n)
	} else {
		f, ok := lookupDB(r, "etc/passwd", u, 2)
		if !ok {
			return 0, 0, fmt.Errorf("unable to find user %s: no matching entries in passwd file", u)
		}
		uid, gid = f[0], f[1]
	}
	if !hasGroup {
		return uid, gid, nil
	}
	if n, err := strconv.ParseUint(g, 10, 32); err == nil {
		return uid, uint32(n), nil
	}
	f, ok := lookupDB(r, "etc/group", g, 1)
	if !ok {
		return 0, 0, fmt.Errorf("unable to find group %s: no matching entries in group file", g)
	}
	return uid, f[0], nil
}

// lookupDB returns the n numeric fields after the password field of name's line in a passwd
// (uid, gid) or group (gid) file of the image.
func lookupDB(r *os.Root, file, name string, n int) ([]uint32, bool) {
	f, err := r.Open(file)
	if err != nil {
		return nil, false
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		parts := strings.Split(sc.Text(), ":")
		if len(parts) < 3 || parts[0] != name {
			continue
		}
		var out []uint32
		if len(parts) < 2+n {
			return nil, false
		}
		for _, p := range parts[2 : 2+n] {
			v, err := strconv.ParseUint(p, 10, 32)
			if err != nil {
				return nil, false
			}
			out = append(out, uint32(v))
		}
		return out, true
	}
	return nil, false
}
