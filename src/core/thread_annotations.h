// Clang's thread-safety annotations (-Wthread-safety), as leveldb's
// port/thread_annotations.h has them: a member marked GUARDED_BY(mu_) is
// checked by the compiler to be touched only with mu_ held. Other
// compilers see nothing. Use with keyward::Mutex (core/mutex.h), which
// clang knows as a capability; std::mutex is not annotated.
// Thread-safe: macros.
#ifndef KEYWARD_CORE_THREAD_ANNOTATIONS_H_
#define KEYWARD_CORE_THREAD_ANNOTATIONS_H_

#if defined(__clang__)
#define KEYWARD_THREAD_ANNOTATION(x) __attribute__((x))
#else
#define KEYWARD_THREAD_ANNOTATION(x)
#endif

#define CAPABILITY(x) KEYWARD_THREAD_ANNOTATION(capability(x))
#define SCOPED_CAPABILITY KEYWARD_THREAD_ANNOTATION(scoped_lockable)
#define GUARDED_BY(x) KEYWARD_THREAD_ANNOTATION(guarded_by(x))
#define PT_GUARDED_BY(x) KEYWARD_THREAD_ANNOTATION(pt_guarded_by(x))
#define ACQUIRE(...) KEYWARD_THREAD_ANNOTATION(acquire_capability(__VA_ARGS__))
#define RELEASE(...) KEYWARD_THREAD_ANNOTATION(release_capability(__VA_ARGS__))
#define REQUIRES(...) KEYWARD_THREAD_ANNOTATION(requires_capability(__VA_ARGS__))
#define EXCLUDES(...) KEYWARD_THREAD_ANNOTATION(locks_excluded(__VA_ARGS__))
#define NO_THREAD_SAFETY_ANALYSIS KEYWARD_THREAD_ANNOTATION(no_thread_safety_analysis)

#endif  // KEYWARD_CORE_THREAD_ANNOTATIONS_H_
