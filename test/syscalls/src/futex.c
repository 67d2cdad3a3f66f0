/* futex.c: futex wait/wake, requeue, wake_op, bitsets, PI, robust lists. */
#define AREA "futex"
#include "../harness.h"

#include <linux/futex.h>
#include <pthread.h>
#include <stddef.h>
#include <sys/mman.h>
#include <time.h>

static long futex(volatile int *uaddr, int op, int val, const void *timeout,
		  volatile int *uaddr2, int val3)
{
	return syscall(SYS_futex, uaddr, op, val, timeout, uaddr2, val3);
}

static void ms_sleep(int ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
	nanosleep(&ts, NULL);
}

static double now_mono(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

struct waiter {
	volatile int *addr;
	int op;
	int bitset;
	long ret;
	int err;
	pthread_t t;
};

static void *wait_thread(void *p)
{
	struct waiter *w = p;
	if (w->op == FUTEX_WAIT_BITSET_PRIVATE)
		w->ret = futex(w->addr, w->op, 0, NULL, NULL, w->bitset);
	else
		w->ret = futex(w->addr, w->op, 0, NULL, NULL, 0);
	w->err = errno;
	return NULL;
}

static void start_waiters(struct waiter *w, int n, volatile int *addr,
			  int op, int bitset)
{
	for (int i = 0; i < n; i++) {
		w[i].addr = addr;
		w[i].op = op;
		w[i].bitset = bitset;
		w[i].ret = -2;
		if (pthread_create(&w[i].t, NULL, wait_thread, &w[i]) != 0)
			h_fail(1, __FILE__, __LINE__, "pthread_create");
	}
}

/*
 * wake_until calls OP on addr until N waiters in total were woken, checking
 * that no single call reports more than MAX. It gives up after ~10 s.
 */
static int wake_until(volatile int *addr, int op, int max, int n,
		      volatile int *addr2, int val3)
{
	int total = 0;
	for (int i = 0; i < 10000 && total < n; i++) {
		long r = futex(addr, op, max, NULL, addr2, val3);
		if (r < 0 || r > max)
			return -1;
		total += r;
		if (total < n)
			ms_sleep(1);
	}
	return total;
}

static void join_all(struct waiter *w, int n)
{
	for (int i = 0; i < n; i++) {
		pthread_join(w[i].t, NULL);
		EXPECT_EQ(w[i].ret, 0);
	}
}

TEST(wait_value_mismatch_eagain)
{
	volatile int word = 1;
	EXPECT_ERRNO(futex(&word, FUTEX_WAIT_PRIVATE, 0, NULL, NULL, 0), EAGAIN);
	EXPECT_ERRNO(futex(&word, FUTEX_WAIT, 2, NULL, NULL, 0), EAGAIN);
}

TEST(wait_relative_timeout_etimedout)
{
	volatile int word = 0;
	struct timespec ts = {0, 20 * 1000 * 1000};
	double t0 = now_mono();
	EXPECT_ERRNO(futex(&word, FUTEX_WAIT_PRIVATE, 0, &ts, NULL, 0),
		     ETIMEDOUT);
	EXPECT_GE(now_mono() - t0, 0.019);
}

TEST(wait_bitset_absolute_monotonic)
{
	volatile int word = 0;
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	ts.tv_nsec += 20 * 1000 * 1000;
	if (ts.tv_nsec >= 1000000000) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000;
	}
	EXPECT_ERRNO(futex(&word, FUTEX_WAIT_BITSET_PRIVATE, 0, &ts, NULL,
			   FUTEX_BITSET_MATCH_ANY),
		     ETIMEDOUT);
	EXPECT_GE(now_mono(), ts.tv_sec + ts.tv_nsec / 1e9);
}

TEST(wait_bitset_absolute_realtime)
{
	volatile int word = 0;
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_nsec += 10 * 1000 * 1000;
	if (ts.tv_nsec >= 1000000000) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000;
	}
	EXPECT_ERRNO(futex(&word, FUTEX_WAIT_BITSET_PRIVATE | FUTEX_CLOCK_REALTIME,
			   0, &ts, NULL, FUTEX_BITSET_MATCH_ANY),
		     ETIMEDOUT);
}

TEST(wait_absolute_in_past_times_out_at_once)
{
	volatile int word = 0;
	struct timespec ts = {1, 0};
	EXPECT_ERRNO(futex(&word, FUTEX_WAIT_BITSET_PRIVATE, 0, &ts, NULL,
			   FUTEX_BITSET_MATCH_ANY),
		     ETIMEDOUT);
}

TEST(wait_bad_timeout_einval)
{
	volatile int word = 0;
	struct timespec ts = {0, 1000000000};
	EXPECT_ERRNO(futex(&word, FUTEX_WAIT_PRIVATE, 0, &ts, NULL, 0), EINVAL);
	ts.tv_sec = -1;
	ts.tv_nsec = 0;
	EXPECT_ERRNO(futex(&word, FUTEX_WAIT_PRIVATE, 0, &ts, NULL, 0), EINVAL);
}

TEST(wake_without_waiters_returns_zero)
{
	volatile int word = 0;
	EXPECT_EQ(futex(&word, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0), 0);
	EXPECT_EQ(futex(&word, FUTEX_WAKE, INT_MAX, NULL, NULL, 0), 0);
}

TEST(wake_one_wakes_at_most_one)
{
	static volatile int word;
	struct waiter w[3];
	word = 0;
	start_waiters(w, 3, &word, FUTEX_WAIT_PRIVATE, 0);
	EXPECT_EQ(wake_until(&word, FUTEX_WAKE_PRIVATE, 1, 3, NULL, 0), 3);
	join_all(w, 3);
}

TEST(wake_all_wakes_every_waiter)
{
	static volatile int word;
	struct waiter w[4];
	word = 0;
	start_waiters(w, 4, &word, FUTEX_WAIT_PRIVATE, 0);
	EXPECT_EQ(wake_until(&word, FUTEX_WAKE_PRIVATE, INT_MAX, 4, NULL, 0), 4);
	join_all(w, 4);
}

TEST(private_wake_does_not_see_shared_wait_of_other_process)
{
	/* A private wait in a child is keyed by the child's mm. */
	volatile int *word = mmap(NULL, 4096, PROT_READ | PROT_WRITE,
				  MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	ASSERT_TRUE(word != MAP_FAILED);
	*word = 0;
	pid_t pid = h_fork();
	ASSERT_GE(pid, 0);
	if (pid == 0) {
		struct timespec ts = {0, 100 * 1000 * 1000};
		long r = futex(word, FUTEX_WAIT_PRIVATE, 0, &ts, NULL, 0);
		_exit(r == -1 && errno == ETIMEDOUT ? 0 : 1);
	}
	int woken = 0;
	while (waitpid(pid, NULL, WNOHANG) == 0) {
		woken += futex(word, FUTEX_WAKE_PRIVATE, INT_MAX, NULL, NULL, 0);
		ms_sleep(5);
	}
	EXPECT_EQ(woken, 0);
	munmap((void *)word, 4096);
}

TEST(shared_futex_across_fork)
{
	volatile int *word = mmap(NULL, 4096, PROT_READ | PROT_WRITE,
				  MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	ASSERT_TRUE(word != MAP_FAILED);
	*word = 0;
	pid_t pid = h_fork();
	ASSERT_GE(pid, 0);
	if (pid == 0) {
		while (*word == 0)
			futex(word, FUTEX_WAIT, 0, NULL, NULL, 0);
		_exit(*word == 1 ? 0 : 1);
	}
	/* Wake once the child is really waiting, then it sees the value. */
	int woken = 0;
	for (int i = 0; i < 10000 && !woken; i++) {
		woken = futex(word, FUTEX_WAKE, 1, NULL, NULL, 0);
		if (!woken)
			ms_sleep(1);
	}
	EXPECT_EQ(woken, 1);
	*word = 1;
	futex(word, FUTEX_WAKE, 1, NULL, NULL, 0);
	EXPECT_EQ(h_wait(pid), 0);
	munmap((void *)word, 4096);
}

TEST(requeue_moves_waiters)
{
	static volatile int a, b;
	struct waiter w[2];
	a = b = 0;
	start_waiters(w, 2, &a, FUTEX_WAIT_PRIVATE, 0);
	/* Wake none, requeue all from a to b. */
	int total = 0;
	for (int i = 0; i < 10000 && total < 2; i++) {
		long r = futex(&a, FUTEX_REQUEUE_PRIVATE, 0, (void *)(long)INT_MAX,
			       &b, 0);
		ASSERT_GE(r, 0);
		total += r;
		if (total < 2)
			ms_sleep(1);
	}
	EXPECT_EQ(total, 2);
	EXPECT_EQ(futex(&a, FUTEX_WAKE_PRIVATE, INT_MAX, NULL, NULL, 0), 0);
	EXPECT_EQ(futex(&b, FUTEX_WAKE_PRIVATE, INT_MAX, NULL, NULL, 0), 2);
	join_all(w, 2);
}

TEST(cmp_requeue_value_mismatch_eagain)
{
	volatile int a = 5, b = 0;
	EXPECT_ERRNO(futex(&a, FUTEX_CMP_REQUEUE_PRIVATE, 1, (void *)1L, &b, 4),
		     EAGAIN);
	EXPECT_EQ(futex(&a, FUTEX_CMP_REQUEUE_PRIVATE, 1, (void *)1L, &b, 5), 0);
}

TEST(cmp_requeue_wakes_and_requeues)
{
	static volatile int a, b;
	struct waiter w[3];
	a = b = 0;
	start_waiters(w, 3, &a, FUTEX_WAIT_PRIVATE, 0);
	/* Let all three block, then wake one and requeue the other two. */
	int total = 0;
	for (int i = 0; i < 10000 && total < 3; i++) {
		long r = futex(&a, FUTEX_CMP_REQUEUE_PRIVATE, 0,
			       (void *)(long)INT_MAX, &b, 0);
		ASSERT_GE(r, 0);
		total += r;
		if (total < 3)
			ms_sleep(1);
	}
	ASSERT_EQ(total, 3);
	/* All three are on b now; move them back one woken, two requeued. */
	EXPECT_EQ(futex(&b, FUTEX_CMP_REQUEUE_PRIVATE, 1, (void *)2L, &a, 0), 3);
	EXPECT_EQ(futex(&a, FUTEX_WAKE_PRIVATE, INT_MAX, NULL, NULL, 0), 2);
	join_all(w, 3);
}

TEST(cmp_requeue_negative_count_einval)
{
	volatile int a = 0, b = 0;
	EXPECT_ERRNO(futex(&a, FUTEX_CMP_REQUEUE_PRIVATE, -1, (void *)1L, &b, 0),
		     EINVAL);
}

TEST(wake_op_modifies_second_word)
{
	volatile int a = 0, b = 10;
	int op = FUTEX_OP(FUTEX_OP_ADD, 3, FUTEX_OP_CMP_EQ, 10);
	EXPECT_EQ(futex(&a, FUTEX_WAKE_OP_PRIVATE, 1, (void *)1L, &b, op), 0);
	EXPECT_EQ(b, 13);
	op = FUTEX_OP(FUTEX_OP_SET, 7, FUTEX_OP_CMP_GT, 100);
	EXPECT_EQ(futex(&a, FUTEX_WAKE_OP_PRIVATE, 1, (void *)1L, &b, op), 0);
	EXPECT_EQ(b, 7);
	op = FUTEX_OP(FUTEX_OP_OR, 0x30, FUTEX_OP_CMP_EQ, 0);
	EXPECT_EQ(futex(&a, FUTEX_WAKE_OP_PRIVATE, 1, (void *)1L, &b, op), 0);
	EXPECT_EQ(b, 0x37);
	op = FUTEX_OP(FUTEX_OP_ANDN, 0x7, FUTEX_OP_CMP_EQ, 0);
	EXPECT_EQ(futex(&a, FUTEX_WAKE_OP_PRIVATE, 1, (void *)1L, &b, op), 0);
	EXPECT_EQ(b, 0x30);
	op = FUTEX_OP(FUTEX_OP_XOR, 0x1, FUTEX_OP_CMP_EQ, 0);
	EXPECT_EQ(futex(&a, FUTEX_WAKE_OP_PRIVATE, 1, (void *)1L, &b, op), 0);
	EXPECT_EQ(b, 0x31);
}

TEST(wake_op_wakes_second_word_when_compare_true)
{
	static volatile int a, b;
	struct waiter w[1];
	a = 0;
	b = 0;
	start_waiters(w, 1, &b, FUTEX_WAIT_PRIVATE, 0);
	/* Wait till the waiter blocks on b (a plain wake of b finds it)... */
	int total = 0;
	for (int i = 0; i < 10000; i++) {
		/* SET b = 0 keeps it waitable; compare old == 0 is true. */
		int op = FUTEX_OP(FUTEX_OP_SET, 0, FUTEX_OP_CMP_EQ, 0);
		long r = futex(&a, FUTEX_WAKE_OP_PRIVATE, 1, (void *)1L, &b, op);
		ASSERT_GE(r, 0);
		total += r;
		if (total)
			break;
		ms_sleep(1);
	}
	EXPECT_EQ(total, 1);
	join_all(w, 1);
}

TEST(wake_op_compare_false_skips_second_word)
{
	volatile int a = 0;
	static volatile int c;
	struct waiter w[1];
	c = 0;
	start_waiters(w, 1, &c, FUTEX_WAIT_PRIVATE, 0);
	ms_sleep(20); /* usually lets the waiter block; correct either way */
	/* old value 0 is not > 5: c's waiter stays asleep. */
	int op = FUTEX_OP(FUTEX_OP_SET, 0, FUTEX_OP_CMP_GT, 5);
	EXPECT_EQ(futex(&a, FUTEX_WAKE_OP_PRIVATE, 1, (void *)1L, &c, op), 0);
	EXPECT_EQ(wake_until(&c, FUTEX_WAKE_PRIVATE, 1, 1, NULL, 0), 1);
	join_all(w, 1);
}

TEST(bitset_wake_needs_matching_bits)
{
	static volatile int word;
	struct waiter w[1];
	word = 0;
	start_waiters(w, 1, &word, FUTEX_WAIT_BITSET_PRIVATE, 0x1);
	int hit = 0;
	for (int i = 0; i < 10000 && !hit; i++) {
		EXPECT_EQ(futex(&word, FUTEX_WAKE_BITSET_PRIVATE, INT_MAX, NULL,
				NULL, 0x2),
			  0);
		hit = futex(&word, FUTEX_WAKE_BITSET_PRIVATE, INT_MAX, NULL,
			    NULL, 0x3);
		if (!hit)
			ms_sleep(1);
	}
	EXPECT_EQ(hit, 1);
	join_all(w, 1);
}

TEST(bitset_zero_einval)
{
	volatile int word = 0;
	EXPECT_ERRNO(futex(&word, FUTEX_WAIT_BITSET_PRIVATE, 0, NULL, NULL, 0),
		     EINVAL);
	EXPECT_ERRNO(futex(&word, FUTEX_WAKE_BITSET_PRIVATE, 1, NULL, NULL, 0),
		     EINVAL);
}

static volatile int intr_hits;
static void intr_handler(int sig)
{
	(void)sig;
	intr_hits++;
}

struct kicker {
	pthread_t target;
	volatile int done;
};

static void *kick_thread(void *p)
{
	struct kicker *k = p;
	for (int i = 0; i < 1000 && !k->done; i++) {
		pthread_kill(k->target, SIGUSR1);
		ms_sleep(5);
	}
	return NULL;
}

TEST(wait_interrupted_by_signal_eintr)
{
	static volatile int word;
	struct sigaction sa;
	struct kicker k;
	pthread_t t;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = intr_handler;
	ASSERT_OK(sigaction(SIGUSR1, &sa, NULL));
	word = 0;
	intr_hits = 0;
	k.target = pthread_self();
	k.done = 0;
	ASSERT_EQ(pthread_create(&t, NULL, kick_thread, &k), 0);
	long r = futex(&word, FUTEX_WAIT_PRIVATE, 0, NULL, NULL, 0);
	int e = errno;
	k.done = 1;
	pthread_join(t, NULL);
	EXPECT_EQ(r, -1);
	EXPECT_EQ(e, EINTR);
	EXPECT_GE(intr_hits, 1);
}

TEST(unmapped_address_efault)
{
	char *p = mmap(NULL, 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_TRUE(p != MAP_FAILED);
	munmap(p, 4096);
	EXPECT_ERRNO(futex((int *)p, FUTEX_WAIT_PRIVATE, 0, NULL, NULL, 0),
		     EFAULT);
}

TEST(unaligned_address_einval)
{
	static int words[2];
	EXPECT_ERRNO(futex((int *)((char *)words + 1), FUTEX_WAIT_PRIVATE, 0,
			   NULL, NULL, 0),
		     EINVAL);
}

TEST(unknown_op_enosys)
{
	volatile int word = 0;
	EXPECT_ERRNO(futex(&word, 99, 0, NULL, NULL, 0), ENOSYS);
}

TEST(pi_lock_unlock_uncontended)
{
	volatile int word = 0;
	pid_t tid = syscall(SYS_gettid);
	ASSERT_OK(futex(&word, FUTEX_LOCK_PI_PRIVATE, 0, NULL, NULL, 0));
	EXPECT_EQ(word & FUTEX_TID_MASK, tid);
	EXPECT_ERRNO(futex(&word, FUTEX_TRYLOCK_PI_PRIVATE, 0, NULL, NULL, 0),
		     EDEADLK);
	EXPECT_ERRNO(futex(&word, FUTEX_LOCK_PI_PRIVATE, 0, NULL, NULL, 0),
		     EDEADLK);
	ASSERT_OK(futex(&word, FUTEX_UNLOCK_PI_PRIVATE, 0, NULL, NULL, 0));
	EXPECT_EQ(word, 0);
}

TEST(pi_unlock_not_owner_eperm)
{
	/* "Owned" by a thread that is not us (under runsc we may be tid 1). */
	volatile int word = syscall(SYS_gettid) == 1 ? 2 : 1;
	EXPECT_ERRNO(futex(&word, FUTEX_UNLOCK_PI_PRIVATE, 0, NULL, NULL, 0),
		     EPERM);
}

TEST(robust_list_roundtrip)
{
	struct robust_list_head head = {.list = {&head.list},
					.futex_offset = 0,
					.list_op_pending = NULL};
	struct robust_list_head *got = NULL;
	size_t len = 0;
	void *old = NULL;
	size_t oldlen = 0;
	ASSERT_OK(syscall(SYS_get_robust_list, 0, &old, &oldlen));
	ASSERT_OK(syscall(SYS_set_robust_list, &head, sizeof(head)));
	ASSERT_OK(syscall(SYS_get_robust_list, 0, &got, &len));
	EXPECT_TRUE(got == &head);
	EXPECT_EQ(len, sizeof(head));
	EXPECT_ERRNO(syscall(SYS_set_robust_list, &head, sizeof(head) + 1),
		     EINVAL);
	syscall(SYS_set_robust_list, old, oldlen);
}

struct robust_lock {
	struct robust_list next;
	int futex;
};

TEST(robust_futex_owner_died_on_exit)
{
	struct robust_lock *lk = mmap(NULL, 4096, PROT_READ | PROT_WRITE,
				      MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	ASSERT_TRUE(lk != MAP_FAILED);
	pid_t pid = h_fork();
	ASSERT_GE(pid, 0);
	if (pid == 0) {
		static struct robust_list_head head;
		head.list.next = &lk->next;
		lk->next.next = &head.list;
		head.futex_offset = offsetof(struct robust_lock, futex) -
				    offsetof(struct robust_lock, next);
		head.list_op_pending = NULL;
		lk->futex = syscall(SYS_gettid);
		if (syscall(SYS_set_robust_list, &head, sizeof(head)) != 0)
			_exit(1);
		_exit(0);
	}
	EXPECT_EQ(h_wait(pid), 0);
	EXPECT_EQ(lk->futex, FUTEX_OWNER_DIED);
	munmap(lk, 4096);
}

TEST(clock_realtime_only_for_bitset_wait)
{
	volatile int word = 0;
	struct timespec ts = {0, 5 * 1000 * 1000};
	/* Plain FUTEX_WAIT (relative timeout) refuses the clock flag. */
	EXPECT_ERRNO(futex(&word, FUTEX_WAIT_PRIVATE | FUTEX_CLOCK_REALTIME, 0,
			   &ts, NULL, 0),
		     ENOSYS);
	EXPECT_ERRNO(futex(&word, FUTEX_WAKE_PRIVATE | FUTEX_CLOCK_REALTIME, 1,
			   NULL, NULL, 0),
		     ENOSYS);
}

TEST(wait_on_readonly_page_wake_op_efault)
{
	volatile int a = 0;
	int *ro = mmap(NULL, 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_TRUE(ro != MAP_FAILED);
	/* Waiting only reads the word. */
	EXPECT_ERRNO(futex(ro, FUTEX_WAIT_PRIVATE, 1, NULL, NULL, 0), EAGAIN);
	/* FUTEX_WAKE_OP writes the second word. */
	int op = FUTEX_OP(FUTEX_OP_SET, 1, FUTEX_OP_CMP_EQ, 0);
	EXPECT_ERRNO(futex(&a, FUTEX_WAKE_OP_PRIVATE, 1, (void *)1L, ro, op),
		     EFAULT);
	munmap(ro, 4096);
}

TEST(pi_lock_dead_owner_esrch)
{
	volatile int word = 0x3ffffff0 & FUTEX_TID_MASK;
	EXPECT_ERRNO(futex(&word, FUTEX_LOCK_PI_PRIVATE, 0, NULL, NULL, 0), ESRCH);
}

struct pi_arg {
	volatile int *word;
	volatile int got_tid;
	long trylock_ret;
	int trylock_err;
};

static void *pi_thread(void *p)
{
	struct pi_arg *a = p;
	a->trylock_ret = futex(a->word, FUTEX_TRYLOCK_PI_PRIVATE, 0, NULL, NULL, 0);
	a->trylock_err = errno;
	if (futex(a->word, FUTEX_LOCK_PI_PRIVATE, 0, NULL, NULL, 0) == 0) {
		a->got_tid = *a->word & FUTEX_TID_MASK;
		futex(a->word, FUTEX_UNLOCK_PI_PRIVATE, 0, NULL, NULL, 0);
	}
	return NULL;
}

TEST(pi_lock_handoff_to_waiter)
{
	static volatile int word;
	struct pi_arg a = {.word = &word};
	pthread_t t;
	pid_t me = syscall(SYS_gettid);
	word = 0;
	ASSERT_OK(futex(&word, FUTEX_LOCK_PI_PRIVATE, 0, NULL, NULL, 0));
	ASSERT_EQ(pthread_create(&t, NULL, pi_thread, &a), 0);
	/* The waiter marks the word with FUTEX_WAITERS once it blocks. */
	for (int i = 0; i < 10000 && !(word & FUTEX_WAITERS); i++)
		ms_sleep(1);
	EXPECT_EQ((unsigned)word, (unsigned)me | FUTEX_WAITERS);
	ASSERT_OK(futex(&word, FUTEX_UNLOCK_PI_PRIVATE, 0, NULL, NULL, 0));
	pthread_join(t, NULL);
	EXPECT_EQ(a.trylock_ret, -1);
	EXPECT_EQ(a.trylock_err, EAGAIN);
	EXPECT_GT(a.got_tid, 0);
	EXPECT_NE(a.got_tid, me);
	EXPECT_EQ(word, 0);
}

TEST(requeue_negative_count_einval)
{
	volatile int a = 0, b = 0;
	EXPECT_ERRNO(futex(&a, FUTEX_REQUEUE_PRIVATE, -1, (void *)1L, &b, 0),
		     EINVAL);
	EXPECT_ERRNO(futex(&a, FUTEX_REQUEUE_PRIVATE, 1, (void *)-1L, &b, 0),
		     EINVAL);
}
