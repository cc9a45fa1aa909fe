# vireo: out-of-tree virtio guest drivers.
#
#   make                      build every module for the running kernel (or KDIR=)
#   make KVER=6.1|6.12|debug  build against a kernel fetched into the cache
#   make KDIR=/path           build against any kernel build tree
#   make run                  boot a guest with vireo loaded (see README)
#   make check                the whole test suite over the matrix
#   make bench                vireo vs the in-tree drivers
#   make install              install the modules, modprobe.d and initramfs
#                             files (KVER/KDIR, DESTDIR/INSTALL_MOD_PATH;
#                             docs/install.md); make uninstall removes them
#   make dist                 vireo-<version>.tar.gz, a source tree DKMS builds
#
# Builds for a cached kernel go to build/<KVER>/ so several kernels can be
# built side by side from one tree.

VIREO_CACHE ?= /var/cache/vireo
export VIREO_CACHE

ifneq ($(KVER),)
KDIR := $(VIREO_CACHE)/kernels/$(KVER)/build
OUT := $(CURDIR)/build/$(KVER)
else
KDIR ?= /lib/modules/$(shell uname -r)/build
OUT := $(CURDIR)
endif

SRC := Kbuild include drivers dkms.conf
VERSION := $(shell sed -n 's/^PACKAGE_VERSION="\(.*\)"/\1/p' $(CURDIR)/dkms.conf)
# The target root of make install: DESTDIR and INSTALL_MOD_PATH alike.
ROOT := $(DESTDIR)$(INSTALL_MOD_PATH)

.PHONY: all modules clean deps kernels run check bench userspace-test checkpatch sparse \
	kdir-check install uninstall dist

all: modules

# A build for the running kernel (or KDIR=) needs its build tree and a
# compiler; say in one line what is missing and how to get it.
kdir-check:
	@test -e $(KDIR)/Makefile || { \
		echo "vireo: no kernel build tree at $(KDIR): install it (apt-get install linux-headers-$(shell uname -r)), or build for a cached Debian kernel with make KVER=6.1 or KVER=6.12, or give KDIR=/path/to/build" >&2; exit 1; }
	@command -v gcc >/dev/null || { echo "vireo: gcc is missing: apt-get install gcc make" >&2; exit 1; }
	@! grep -qs '^CONFIG_DEBUG_INFO_BTF_MODULES=y' $(KDIR)/.config || command -v pahole >/dev/null || \
		{ echo "vireo: pahole is missing (the kernel has BTF for modules): apt-get install dwarves" >&2; exit 1; }
	@perl -MPod::Usage -e 1 2>/dev/null || { echo "vireo: perl (with Pod::Usage, for the W=1 build's kernel-doc) is missing: apt-get install perl" >&2; exit 1; }

modules:
ifneq ($(KVER),)
	@scripts/install-deps
	@test -d $(KDIR) || { if [ "$(KVER)" = debug ]; then scripts/build-debug-kernel; \
		else scripts/fetch-kernels $(KVER); fi >/dev/null; }
	@mkdir -p $(OUT)
	@cp -rsf $(addprefix $(CURDIR)/,$(SRC)) $(OUT)/
	$(MAKE) -C $(KDIR) M=$(OUT) W=1 modules
else
	@$(MAKE) -s kdir-check
	$(MAKE) -C $(KDIR) M=$(OUT) W=1 modules
endif

sparse: modules
	$(MAKE) -C $(KDIR) M=$(OUT) C=2 CF="-D__CHECK_ENDIAN__" modules

# KREL: the release the modules are for (e.g. 6.1.0-57-amd64), as in their
# vermagic (Debian's headers have the upstream version in kernel.release).
KREL = $(shell sed -n 's/^\#define UTS_RELEASE "\(.*\)"/\1/p' $(KDIR)/include/generated/utsrelease.h 2>/dev/null)

install: modules
	@test -n "$(KREL)" || { echo "vireo: no kernel release in $(KDIR)/include/generated/utsrelease.h" >&2; exit 1; }
	packaging/vireo-files install-modules "$(ROOT)" "$(KREL)" $(shell find $(OUT)/drivers -name 'vireo_*.ko' | sort)
	packaging/vireo-files install "$(ROOT)"

uninstall:
	@test -n "$(KREL)" || { echo "vireo: no kernel release in $(KDIR)/include/generated/utsrelease.h (give KVER= or KDIR=)" >&2; exit 1; }
	packaging/vireo-files remove-modules "$(ROOT)" "$(KREL)"
	packaging/vireo-files remove "$(ROOT)"

# What DKMS needs to build: the sources, the Makefile, dkms.conf, packaging/.
dist:
	@rm -rf build/dist && mkdir -p build/dist/vireo-$(VERSION)
	@cp -r Kbuild Makefile dkms.conf README.md include drivers packaging build/dist/vireo-$(VERSION)/
	@mkdir -p build/dist/vireo-$(VERSION)/scripts build/dist/vireo-$(VERSION)/docs
	@cp scripts/vireo-bind scripts/install-deps build/dist/vireo-$(VERSION)/scripts/
	@cp docs/install.md build/dist/vireo-$(VERSION)/docs/
	@find build/dist \( -name '*.o' -o -name '*.ko' -o -name '*.cmd' -o -name '*.mod' -o -name '*.mod.c' -o -name '*.order' -o -name '*.symvers' \) -delete
	tar -C build/dist --owner=0 --group=0 --sort=name -czf vireo-$(VERSION).tar.gz vireo-$(VERSION)
	@echo "vireo-$(VERSION).tar.gz"

clean:
	rm -rf build tests/ring/build
	$(MAKE) -C $(KDIR) M=$(CURDIR) clean 2>/dev/null || true

deps:
	scripts/install-deps

kernels:
	scripts/install-deps
	scripts/fetch-kernels

userspace-test:
	$(MAKE) -C tests/ring

checkpatch:
	scripts/checkpatch

run:
	@scripts/install-deps
	scripts/run

check:
	scripts/check

bench:
	scripts/bench
