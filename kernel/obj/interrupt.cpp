#include "obj/interrupt.hpp"

#include <new>

#include "arch/lapic.hpp"
#include "dev/ioapic.hpp"
#include "dev/irq.hpp"
#include "dev/msi.hpp"
#include "log/log.hpp"
#include "panic.hpp"

namespace keel::obj {

// One I/O APIC input in use: its vector and the holders it signals. Made by the first holder,
// freed (input masked, vector returned) with the last.
struct InterruptLine {
    uint32_t gsi;
    uint32_t flags;  // abi::kInterruptLevel, abi::kInterruptActiveLow
    uint8_t vector;
    bool masked_for_ack;  // level: fired and masked until the holders acknowledge
    uint32_t unacked;     // level: holders signalled and not acknowledged yet
    InterruptObject* holders;
    InterruptLine* next;
};

namespace {

InterruptLine* g_lines = nullptr;
InterruptObject* g_msis = nullptr;  // live MSI objects: one per (function, message)

uint8_t boot_apic_id() {
    return static_cast<uint8_t>(lapic::id());
}

dev::ioapic::Trigger trigger_of(uint32_t flags) {
    return {(flags & abi::kInterruptLevel) != 0, (flags & abi::kInterruptActiveLow) != 0};
}

uint32_t flags_of(dev::ioapic::Trigger t) {
    return (t.level ? abi::kInterruptLevel : 0) | (t.active_low ? abi::kInterruptActiveLow : 0);
}

// The enumeration table's entry for f (f may be a copy): MSI objects keep a pointer to it.
const dev::PciFunction* table_entry(const dev::PciFunction& f) {
    for (uint32_t i = 0; i < dev::pci_function_count(); ++i) {
        const dev::PciFunction& g = dev::pci_function(i);
        if (g.bus == f.bus && g.device == f.device && g.function == f.function)
            return &g;
    }
    return nullptr;
}

Result<void> need_ioapic(const char* what) {
    if (dev::ioapic::available())
        return success();
    log::warn("interrupt: %s needs an I/O APIC and the MADT names none", what);
    return fail(abi::Error::kNotSupported);
}

}  // namespace

Result<RefPtr<InterruptObject>> InterruptObject::create_on_line(uint32_t gsi, uint32_t flags) {
    if (!dev::ioapic::has_gsi(gsi)) {
        log::warn("interrupt: no I/O APIC input for GSI %u", gsi);
        return fail(Error::kNotSupported);
    }
    InterruptLine* line = g_lines;
    while (line != nullptr && line->gsi != gsi)
        line = line->next;
    if (line != nullptr && line->flags != flags) {
        log::warn("interrupt: GSI %u is in use with flags %u, refused with %u", gsi, line->flags,
                  flags);
        return fail(Error::kExists);
    }
    RefPtr<InterruptObject> o = adopt_ref(new (std::nothrow) InterruptObject);
    if (!o)
        return fail(Error::kNoMemory);
    o->resource_kind_ = static_cast<uint32_t>(abi::DeviceResourceKind::kInterrupt);
    o->flags_ = flags;
    if (line == nullptr) {
        line = new (std::nothrow) InterruptLine{gsi, flags, 0, false, 0, nullptr, g_lines};
        if (line == nullptr)
            return fail(Error::kNoMemory);
        const Result<uint8_t> vector = dev::irq::allocate_vector(on_line, line);
        if (!vector.ok()) {
            delete line;
            return fail(vector.error());
        }
        line->vector = vector.value();
        g_lines = line;
        dev::ioapic::route(gsi, line->vector, trigger_of(flags), boot_apic_id());
        dev::ioapic::unmask(gsi);
    }
    o->vector_ = line->vector;
    o->line_ = line;
    o->next_holder_ = line->holders;
    line->holders = o.get();
    return o;
}

bool InterruptObject::function_has_msi(const dev::PciFunction* f) {
    for (const InterruptObject* o = g_msis; o != nullptr; o = o->next_msi_) {
        if (o->function_ == f)
            return true;
    }
    return false;
}

bool InterruptObject::function_has_intx(const dev::PciFunction* f) {
    for (const InterruptLine* line = g_lines; line != nullptr; line = line->next) {
        for (const InterruptObject* o = line->holders; o != nullptr; o = o->next_holder_) {
            if (o->intx_function_ == f)
                return true;
        }
    }
    return false;
}

Result<RefPtr<InterruptObject>> InterruptObject::create_isa(uint8_t irq) {
    if (irq >= 16)
        return fail(Error::kInvalidArgument);
    KEEL_TRY(need_ioapic("an ISA IRQ"));
    const dev::ioapic::Route r = dev::ioapic::isa_route(irq);
    return create_on_line(r.gsi, flags_of(r.trigger));
}

Result<RefPtr<InterruptObject>> InterruptObject::create_pci_intx(const dev::PciFunction& f) {
    const dev::PciFunction* entry = table_entry(f);
    if (entry == nullptr)
        return fail(Error::kInvalidArgument);
    if (entry->info.interrupt_pin == 0)
        return fail(Error::kNotSupported);
    const uint8_t line = entry->info.interrupt_line;
    if (line == 0xff) {
        log::warn("interrupt: pci %02x:%02x.%u: INTx not routed by the firmware (line 0xff)",
                  entry->bus, entry->device, entry->function);
        return fail(Error::kNotSupported);
    }
    KEEL_TRY(need_ioapic("PCI INTx"));
    constexpr dev::ioapic::Trigger kPci{true, true};  // PCI INTx: level, active low
    const dev::ioapic::Route r =
        line < 16 ? dev::ioapic::isa_route(line, kPci) : dev::ioapic::Route{line, kPci};
    RefPtr<InterruptObject> o = KEEL_TRY(create_on_line(r.gsi, flags_of(r.trigger)));
    o->intx_function_ = entry;
    if (!function_has_msi(entry)) {
        const auto command = static_cast<uint16_t>(dev::pci_config_read(*entry, pci::kCommand, 2));
        if ((command & pci::kCommandIntxDisable) != 0) {
            dev::pci_config_write(*entry, pci::kCommand, command & ~pci::kCommandIntxDisable, 2);
        }
    }
    return o;
}

Result<RefPtr<InterruptObject>> InterruptObject::create_msi(const dev::PciFunction& f,
                                                            uint32_t index) {
    const dev::PciFunction* entry = table_entry(f);
    if (entry == nullptr)
        return fail(Error::kInvalidArgument);
    if (dev::msi_kind(*entry) == dev::MsiKind::kNone)
        return fail(Error::kNotSupported);
    if (index >= dev::msi_vector_count(*entry))
        return fail(Error::kInvalidArgument);
    for (const InterruptObject* o = g_msis; o != nullptr; o = o->next_msi_) {
        if (o->function_ == entry && o->msi_index_ == index)
            return fail(Error::kExists);
    }
    RefPtr<InterruptObject> o = adopt_ref(new (std::nothrow) InterruptObject);
    if (!o)
        return fail(Error::kNoMemory);
    const uint8_t vector = KEEL_TRY(dev::irq::allocate_vector(on_msi, o.get()));
    if (const Result<void> r = dev::msi_enable(*entry, index, vector, boot_apic_id()); !r.ok()) {
        dev::irq::free_vector(vector);
        return fail(r.error());
    }
    o->resource_kind_ = static_cast<uint32_t>(abi::DeviceResourceKind::kMsi);
    o->vector_ = vector;
    o->function_ = entry;
    o->msi_index_ = index;
    o->next_msi_ = g_msis;
    g_msis = o.get();
    return o;
}

InterruptObject::~InterruptObject() {
    if (line_ != nullptr)
        leave_line();
    if (function_ != nullptr)
        leave_msi();
}  // then readers_ wakes anyone still waiting: they retry and find the handle gone

void InterruptObject::leave_line() {
    InterruptLine* line = line_;
    for (InterruptObject** p = &line->holders; *p != nullptr; p = &(*p)->next_holder_) {
        if (*p == this) {
            *p = next_holder_;
            break;
        }
    }
    if (awaiting_ack_) {
        awaiting_ack_ = false;
        --line->unacked;
    }
    if (line->holders == nullptr) {
        // The last holder: masked first, then unhooked, so nothing can reach the line again.
        dev::ioapic::mask(line->gsi);
        dev::irq::free_vector(line->vector);
        for (InterruptLine** p = &g_lines; *p != nullptr; p = &(*p)->next) {
            if (*p == line) {
                *p = line->next;
                break;
            }
        }
        delete line;
    } else if (line->masked_for_ack && line->unacked == 0) {
        // The others have acknowledged: this holder was the last one the line waited for.
        line->masked_for_ack = false;
        dev::ioapic::unmask(line->gsi);
    }
    line_ = nullptr;
}

void InterruptObject::leave_msi() {
    for (InterruptObject** p = &g_msis; *p != nullptr; p = &(*p)->next_msi_) {
        if (*p == this) {
            *p = next_msi_;
            break;
        }
    }
    const bool last = !function_has_msi(function_);
    dev::msi_disable(*function_, msi_index_, last);
    dev::irq::free_vector(vector_);
    if (last && function_has_intx(function_)) {
        // The function's INTx is held (its line masked until acknowledged as ever): it signals
        // that way again. Without INTx holders the disable bit stays, so nothing storms.
        const auto command =
            static_cast<uint16_t>(dev::pci_config_read(*function_, pci::kCommand, 2));
        dev::pci_config_write(*function_, pci::kCommand, command & ~pci::kCommandIntxDisable, 2);
    }
    function_ = nullptr;
}

bool InterruptObject::signal() {
    ++count_;
    ++pending_;
    return readers_.wake_all() != 0;
}

bool InterruptObject::on_line(void* context) {
    auto* line = static_cast<InterruptLine*>(context);
    const bool level = (line->flags & abi::kInterruptLevel) != 0;
    if (level) {
        // Masked before the EOI (dev/irq.cpp): the input is still asserted until a driver has
        // served its device.
        dev::ioapic::mask(line->gsi);
        line->masked_for_ack = true;
    }
    bool woke = false;
    for (InterruptObject* o = line->holders; o != nullptr; o = o->next_holder_) {
        if (level && !o->awaiting_ack_) {
            o->awaiting_ack_ = true;
            ++line->unacked;
        }
        woke = o->signal() || woke;
    }
    return woke;
}

bool InterruptObject::on_msi(void* context) {
    return static_cast<InterruptObject*>(context)->signal();
}

Result<uint64_t> InterruptObject::read(Request& req) {
    if (req.buffer.length() < sizeof(uint64_t))
        return fail(Error::kBufferTooSmall);
    if (pending_ == 0)
        return would_block(req, readers_);
    const Result<uint64_t> r = answer_u64(req, pending_);
    if (r.ok())
        pending_ = 0;  // only once the count reached the caller
    return r;
}

Result<uint64_t> InterruptObject::write(Request&) {
    if (!awaiting_ack_)
        return Result<uint64_t>(0);  // edge-triggered, or nothing to acknowledge
    awaiting_ack_ = false;
    InterruptLine* line = line_;
    if (--line->unacked == 0 && line->masked_for_ack) {
        line->masked_for_ack = false;
        dev::ioapic::unmask(line->gsi);
    }
    return Result<uint64_t>(0);
}

Result<uint64_t> InterruptObject::get_meta(Request& req) {
    if (static_cast<abi::Meta>(req.arg) != abi::Meta::kInterruptInfo)
        return fail(Error::kInvalidArgument);
    const abi::InterruptInfo i = info();
    return answer_bytes(req, &i, sizeof i);
}

abi::InterruptInfo InterruptObject::info() const {
    return {resource_kind_, vector_, line_ != nullptr ? line_->gsi : ~0u, flags_, count_, pending_};
}

}  // namespace keel::obj
