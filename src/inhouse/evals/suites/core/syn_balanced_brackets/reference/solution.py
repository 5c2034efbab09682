def balanced(s):
    st = []
    for c in s:
        if c in '([{':
            st.append(c)
        elif c in ')]}':
            if not st or '([{'[')]}'.index(c)] != st.pop():
                return False
    return not st
