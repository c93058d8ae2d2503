// RefPtr<T>: one counted reference to a kernel object (obj/object.hpp). Every pointer that
// keeps an object alive (handle slots, root entries, mappings, a port's served object, a
// forwarded operation's served object, a subrange's parent, the scheduler's threads) is a
// RefPtr; a plain T* or T& is a borrowed view, valid while some RefPtr holds the object and
// interrupts stay off. Nothing outside RefPtr calls retain() or release().
//
// Two ways in: adopt() takes over the reference a new object is born with (the creator's);
// retain() takes a new one. Copying retains, moving transfers, destruction releases (the last
// release destroys the object, whose destructor may wake other threads).
#pragma once

#include <cstddef>
#include <type_traits>

namespace keel::obj {

template <class T>
class RefPtr {
  public:
    RefPtr() = default;
    RefPtr(std::nullptr_t) {}  // NOLINT: implicit, as a null pointer

    // Takes over a reference the caller owns (a new object's first one).
    [[nodiscard]] static RefPtr adopt(T* object) { return RefPtr(object); }
    // Takes a new reference to an object some other RefPtr keeps alive.
    [[nodiscard]] static RefPtr retain(T* object) {
        if (object != nullptr)
            object->retain();
        return RefPtr(object);
    }

    RefPtr(const RefPtr& o) : RefPtr(retain(o.object_)) {}
    RefPtr(RefPtr&& o) noexcept : object_(o.object_) { o.object_ = nullptr; }
    template <class U>
    requires std::is_convertible_v<U*, T*> RefPtr(RefPtr<U>&& o)
        : object_(o.leak()) {}  // NOLINT: implicit, derived to base
    template <class U>
    requires std::is_convertible_v<U*, T*> RefPtr(const RefPtr<U>& o)
        : RefPtr(retain(o.get())) {}  // NOLINT: implicit
    RefPtr& operator=(RefPtr o) noexcept {
        T* old = object_;
        object_ = o.object_;
        o.object_ = old;  // released when o goes, after this already holds the new one
        return *this;
    }
    ~RefPtr() { reset(); }

    // Drops the reference now (the object may be destroyed here).
    void reset() {
        T* o = object_;
        object_ = nullptr;
        if (o != nullptr)
            o->release();
    }
    // Hands the reference to the caller without releasing it (the move constructors use it).
    [[nodiscard]] T* leak() {
        T* o = object_;
        object_ = nullptr;
        return o;
    }

    T* get() const { return object_; }
    T* operator->() const { return object_; }
    T& operator*() const { return *object_; }
    explicit operator bool() const { return object_ != nullptr; }
    bool operator==(std::nullptr_t) const { return object_ == nullptr; }

  private:
    explicit RefPtr(T* object) : object_(object) {}
    T* object_ = nullptr;
};

template <class T>
RefPtr<T> adopt_ref(T* object) {
    return RefPtr<T>::adopt(object);
}
template <class T>
RefPtr<T> retain_ref(T* object) {
    return RefPtr<T>::retain(object);
}

}  // namespace keel::obj
