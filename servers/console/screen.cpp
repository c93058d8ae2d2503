#include "screen.hpp"

#include <keel/c/format.hpp>

#include "runtime.hpp"

namespace keel::console {

using user::Op;
namespace sys = user::sys;

void Screen::detach() {
    if (surface_ != nullptr)
        (void)sys::unmap(reinterpret_cast<uint64_t>(surface_));
    for (const user::Handle h : {display_, surface_handle_}) {
        if (h != 0)
            (void)sys::do_io(h, Op::kClose);
    }
    surface_ = nullptr;
    display_ = surface_handle_ = 0;
}

int64_t Screen::attach(user::Handle srv, const char* display, const font::Font* font) {
    detach();
    font_ = font;
    char surface_name[abi::kMaxNameLength + 1];
    const uint64_t length = snformat(surface_name, sizeof surface_name, "%s.surface", display);
    if (length >= sizeof surface_name)
        return -static_cast<int64_t>(abi::Error::kInvalidArgument);
    const int64_t d = user::open(srv, display);
    if (d < 0)
        return d;
    display_ = static_cast<user::Handle>(d);
    const int64_t got = sys::do_io(display_, Op::kGetMeta, &info_, sizeof info_,
                                   static_cast<uint64_t>(abi::Meta::kDisplayInfo));
    if (got < 0)
        return got;
    if (got != sizeof info_ || info_.format != static_cast<uint32_t>(abi::PixelFormat::kXrgb8888) ||
        info_.width < font->width || info_.height < font->height || info_.pitch < info_.width * 4 ||
        info_.surface_size < static_cast<uint64_t>(info_.pitch) * info_.height)
        return -static_cast<int64_t>(abi::Error::kNotSupported);
    const int64_t s = user::open(srv, surface_name);
    if (s < 0)
        return s;
    surface_handle_ = static_cast<user::Handle>(s);
    const int64_t address = sys::do_io(surface_handle_, Op::kMap, nullptr, 0, 1);
    if (address < 0)
        return address;
    surface_ = reinterpret_cast<uint8_t*>(address);
    return 0;
}

void Screen::draw_row(const vt::Terminal& terminal, uint32_t row) {
    const uint32_t w = font_->width, h = font_->height;
    const bool cursor_here = terminal.cursor_visible() && terminal.cursor_row() == row;
    for (uint32_t column = 0; column < columns(); ++column) {
        const vt::Cell& cell = terminal.cell(column, row);
        // Bold brightens the eight normal colours, as the VGA text mode did.
        uint8_t fg = cell.fg;
        if ((cell.attrs & vt::kBold) != 0 && fg < 8)
            fg = static_cast<uint8_t>(fg + 8);
        uint32_t fore = vt::palette(fg), back = vt::palette(cell.bg);
        const bool inverse = (cell.attrs & vt::kInverse) != 0;
        if (inverse != (cursor_here && terminal.cursor_column() == column)) {
            const uint32_t t = fore;
            fore = back;
            back = t;
        }
        uint8_t* at = surface_ + static_cast<uint64_t>(row) * h * info_.pitch + column * w * 4;
        font::draw(*font_, font::glyph_for(*font_, cell.code_point), at, info_.pitch, fore, back);
        if ((cell.attrs & vt::kUnderline) != 0) {
            auto* line =
                reinterpret_cast<uint32_t*>(at + static_cast<uint64_t>(h - 1) * info_.pitch);
            for (uint32_t x = 0; x < w; ++x)
                line[x] = fore;
        }
    }
}

int64_t Screen::flush(uint32_t first_row, uint32_t end_row) {
    const abi::Rect damage{0, first_row * font_->height, columns() * font_->width,
                           (end_row - first_row) * font_->height};
    const int64_t r = sys::do_io(display_, Op::kWrite, &damage, sizeof damage);
    return r < 0 ? r : 0;
}

int64_t Screen::render(vt::Terminal& terminal) {
    uint32_t first = 0, end = 0;
    int64_t result = 0;
    while (terminal.take_damage(&first, &end)) {
        if (end > rows())
            end = rows();
        if (first >= end)
            continue;
        for (uint32_t row = first; row < end; ++row)
            draw_row(terminal, row);
        if (const int64_t r = flush(first, end); r < 0)
            result = r;
    }
    return result;
}

int64_t Screen::render_all(const vt::Terminal& terminal) {
    for (uint32_t row = 0; row < rows(); ++row)
        draw_row(terminal, row);
    return flush(0, rows());
}

}  // namespace keel::console
