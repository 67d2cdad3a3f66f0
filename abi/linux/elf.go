package linux

// ELF64 identification, types and program-header facts (elf(5), the System V
// gABI and the x86-64 psABI).
const (
	ELFMAG0    = 0x7f
	EI_NIDENT  = 16
	EI_CLASS   = 4
	EI_DATA    = 5
	EI_VERSION = 6
	EI_OSABI   = 7

	ELFCLASS64  = 2
	ELFDATA2LSB = 1
	EV_CURRENT  = 1

	ELFOSABI_NONE  = 0
	ELFOSABI_LINUX = 3

	ET_EXEC = 2
	ET_DYN  = 3

	EM_X86_64 = 62

	PT_NULL         = 0
	PT_LOAD         = 1
	PT_DYNAMIC      = 2
	PT_INTERP       = 3
	PT_NOTE         = 4
	PT_PHDR         = 6
	PT_TLS          = 7
	PT_GNU_EH_FRAME = 0x6474e550
	PT_GNU_STACK    = 0x6474e551
	PT_GNU_RELRO    = 0x6474e552
	PT_GNU_PROPERTY = 0x6474e553

	PF_X = 1
	PF_W = 2
	PF_R = 4
)

// ELFMagic is the four-byte ELF signature at the start of e_ident.
const ELFMagic = "\x7fELF"

// Sizes of the ELF64 file header and program header.
const (
	ELF64EhdrSize = 64
	ELF64PhdrSize = 56
)

// ELF64 file header field offsets (Elf64_Ehdr).
const (
	EhdrType      = 16 // e_type, 2 bytes
	EhdrMachine   = 18 // e_machine, 2 bytes
	EhdrVersion   = 20 // e_version, 4 bytes
	EhdrEntry     = 24 // e_entry, 8 bytes
	EhdrPhoff     = 32 // e_phoff, 8 bytes
	EhdrShoff     = 40 // e_shoff, 8 bytes
	EhdrFlags     = 48 // e_flags, 4 bytes
	EhdrEhsize    = 52 // e_ehsize, 2 bytes
	EhdrPhentsize = 54 // e_phentsize, 2 bytes
	EhdrPhnum     = 56 // e_phnum, 2 bytes
	EhdrShentsize = 58 // e_shentsize, 2 bytes
	EhdrShnum     = 60 // e_shnum, 2 bytes
	EhdrShstrndx  = 62 // e_shstrndx, 2 bytes
)

// ELF64 program header field offsets (Elf64_Phdr).
const (
	PhdrType   = 0  // p_type, 4 bytes
	PhdrFlags  = 4  // p_flags, 4 bytes
	PhdrOffset = 8  // p_offset, 8 bytes
	PhdrVaddr  = 16 // p_vaddr, 8 bytes
	PhdrPaddr  = 24 // p_paddr, 8 bytes
	PhdrFilesz = 32 // p_filesz, 8 bytes
	PhdrMemsz  = 40 // p_memsz, 8 bytes
	PhdrAlign  = 48 // p_align, 8 bytes
)

// ELFMaxPhdrBytes is the largest program-header table Linux's binfmt_elf
// accepts (load_elf_phdrs rejects e_phnum*e_phentsize above 64 KiB).
const ELFMaxPhdrBytes = 65536
