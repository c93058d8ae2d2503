// The console's screen: a display driver's surface (srv/DISPLAY.surface, mapped) drawn with a
// PSF font from a terminal's cells, and the driver's object (srv/DISPLAY) told which
// rectangles changed. Only rows the terminal reports as damaged are drawn and flushed.
#pragma once

#include <keel/font/psf.hpp>
#include <keel/syscall_abi.hpp>
#include <keel/vt/terminal.hpp>

#include "syscall.hpp"

namespace keel::console {

class Screen {
  public:
    // Opens srv/DISPLAY and srv/DISPLAY.surface in `srv`, reads the mode and maps the surface.
    // The font must outlive the screen. 0 or -Error (kNotSupported: a pixel format other than
    // XRGB8888, or a mode smaller than one glyph).
    int64_t attach(user::Handle srv, const char* display, const font::Font* font);

    // Lets go of the display (its handles and the surface's mapping), as before a new attach
    // when its driver was restarted.
    void detach();

    // Cells that fit the mode in the font.
    uint32_t columns() const { return info_.width / font_->width; }
    uint32_t rows() const { return info_.height / font_->height; }
    const abi::DisplayInfo& info() const { return info_; }

    // Draws the rows the terminal reports as changed (the cursor as an inverted cell) and
    // flushes them. 0 or the display's -Error (what was drawn stays in the surface).
    int64_t render(vt::Terminal& terminal);

    // Draws and flushes everything (at start).
    int64_t render_all(const vt::Terminal& terminal);

  private:
    void draw_row(const vt::Terminal& terminal, uint32_t row);
    int64_t flush(uint32_t first_row, uint32_t end_row);

    user::Handle display_ = 0, surface_handle_ = 0;
    uint8_t* surface_ = nullptr;
    abi::DisplayInfo info_{};
    const font::Font* font_ = nullptr;
};

}  // namespace keel::console
